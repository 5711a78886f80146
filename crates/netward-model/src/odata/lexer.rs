//! Splits URL-decoded `$filter` or `$orderby` text into tokens, each with its position (in
//! characters, counting from 1) and the text as written, for error messages.
//!
//! A word is a run of letters, digits and `_ - : . +`: names, keywords, numbers and unquoted
//! times (`2026-01-01T00:00:00Z`) alike; the parser decides which is which from where it
//! stands. `'…'` is text, with `''` for a quote inside it; `datetime'…'` is a time.

use super::ODataError;

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Token {
    /// A name, keyword, number or unquoted time.
    Word(String),
    /// Quoted text, unescaped.
    Text(String),
    /// `datetime'…'` (or `datetimeoffset'…'`): the quoted part.
    DateTime(String),
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `,`.
    Comma,
}

/// A token, where it starts, and how it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Spanned {
    /// The token.
    pub token: Token,
    /// Position of its first character, from 1.
    pub at: usize,
    /// The token as written.
    pub written: String,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '+')
}

/// Reads quoted text whose opening quote is at `chars[open]`; returns the text and the index
/// after the closing quote.
fn quoted(chars: &[char], open: usize) -> Result<(String, usize), ODataError> {
    let mut text = String::new();
    let mut i = open + 1;
    loop {
        match chars.get(i) {
            None => return Err(ODataError::UnterminatedText { at: open + 1 }),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, i + 1)),
            Some(c) => {
                text.push(*c);
                i += 1;
            }
        }
    }
}

/// The tokens of `input`.
pub(super) fn tokenize(input: &str) -> Result<Vec<Spanned>, ODataError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let start = i;
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' | ')' | ',' => {
                i += 1;
                match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                }
            }
            '\'' => {
                let (text, next) = quoted(&chars, i)?;
                i = next;
                Token::Text(text)
            }
            c if is_word_char(c) => {
                while chars.get(i).is_some_and(|c| is_word_char(*c)) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let typed = word.eq_ignore_ascii_case("datetime")
                    || word.eq_ignore_ascii_case("datetimeoffset");
                if typed && chars.get(i) == Some(&'\'') {
                    let (text, next) = quoted(&chars, i)?;
                    i = next;
                    Token::DateTime(text)
                } else {
                    Token::Word(word)
                }
            }
            other => {
                return Err(ODataError::UnexpectedCharacter {
                    ch: other,
                    at: start + 1,
                });
            }
        };
        tokens.push(Spanned {
            token,
            at: start + 1,
            written: chars[start..i].iter().collect(),
        });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<Token> {
        tokenize(input)
            .unwrap()
            .into_iter()
            .map(|t| t.token)
            .collect()
    }

    #[test]
    fn words_text_times_and_punctuation() {
        assert_eq!(
            kinds("title eq 'it''s' and (x ge 2026-01-01T00:00:00Z,datetime'2026-01-01')"),
            [
                Token::Word("title".into()),
                Token::Word("eq".into()),
                Token::Text("it's".into()),
                Token::Word("and".into()),
                Token::Open,
                Token::Word("x".into()),
                Token::Word("ge".into()),
                Token::Word("2026-01-01T00:00:00Z".into()),
                Token::Comma,
                Token::DateTime("2026-01-01".into()),
                Token::Close,
            ]
        );
        assert_eq!(kinds("''"), [Token::Text(String::new())]);
    }

    #[test]
    fn positions_count_characters_from_one() {
        let t = tokenize("é eq 'x'").unwrap();
        assert_eq!(
            t.iter()
                .map(|t| (t.at, t.written.as_str()))
                .collect::<Vec<_>>(),
            [(1, "é"), (3, "eq"), (6, "'x'")]
        );
    }

    #[test]
    fn stray_characters_and_open_quotes_are_named() {
        assert_eq!(
            tokenize("a eq \"x\""),
            Err(ODataError::UnexpectedCharacter { ch: '"', at: 6 })
        );
        assert_eq!(
            tokenize("a eq 'x''"),
            Err(ODataError::UnterminatedText { at: 6 })
        );
    }
}
