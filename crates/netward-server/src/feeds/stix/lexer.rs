//! Tokens of a STIX 2.1 pattern (STIX 2.1 §9, the ANTLR grammar of `stix2-patterns`): the
//! brackets, the comparison operators, keywords, object paths and literals. Pure and total:
//! any text gives tokens or a [`PatternError::Malformed`] naming the character.

use super::PatternError;

/// One token, with the character offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`.
    Compare(&'static str),
    /// A keyword (`AND`, `ISSUBSET`, `WITHIN`, …) or a bare word (`true`).
    Word(String),
    /// An object path: `ipv4-addr:value`, `network-traffic:dst_ref.value`.
    Path(String),
    /// A quoted string, unescaped.
    Str(String),
    /// `t'…'`, `b'…'`, `h'…'`: a typed literal, with its prefix.
    Typed(char, String),
    /// An integer or a decimal.
    Number(String),
}

/// Splits `pattern` into tokens, each with its character offset.
pub(super) fn tokens(pattern: &str) -> Result<Vec<(usize, Token)>, PatternError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let start = i;
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '[' => single(&mut i, Token::LBracket),
            ']' => single(&mut i, Token::RBracket),
            '(' => single(&mut i, Token::LParen),
            ')' => single(&mut i, Token::RParen),
            ',' => single(&mut i, Token::Comma),
            '=' => single(&mut i, Token::Compare("=")),
            '!' | '<' | '>' => compare(&chars, &mut i)?,
            '\'' => Token::Str(quoted(&chars, &mut i)?),
            '-' | '+' | '0'..='9' => number(&chars, &mut i)?,
            c if c.is_ascii_alphabetic() || c == '_' => word_or_path(&chars, &mut i)?,
            _ => {
                return Err(malformed(
                    start,
                    "a bracket, an operator, a path or a literal",
                ));
            }
        };
        out.push((start, token));
    }
    Ok(out)
}

pub(super) fn malformed(at: usize, expected: &'static str) -> PatternError {
    PatternError::Malformed { at, expected }
}

fn single(i: &mut usize, token: Token) -> Token {
    *i += 1;
    token
}

fn compare(chars: &[char], i: &mut usize) -> Result<Token, PatternError> {
    let start = *i;
    let two = (chars.get(*i).copied(), chars.get(*i + 1).copied());
    let (op, len) = match two {
        (Some('!'), Some('=')) => ("!=", 2),
        (Some('<'), Some('=')) => ("<=", 2),
        (Some('>'), Some('=')) => (">=", 2),
        (Some('<'), _) => ("<", 1),
        (Some('>'), _) => (">", 1),
        _ => return Err(malformed(start, "`!=`")),
    };
    *i += len;
    Ok(Token::Compare(op))
}

/// A `'…'` string starting at `i`, where `\'` and `\\` are escapes.
fn quoted(chars: &[char], i: &mut usize) -> Result<String, PatternError> {
    let start = *i;
    *i += 1;
    let mut text = String::new();
    loop {
        match chars.get(*i) {
            None => return Err(malformed(start, "a closing quote")),
            Some('\'') => {
                *i += 1;
                return Ok(text);
            }
            Some('\\') => match chars.get(*i + 1) {
                Some(&c @ ('\'' | '\\')) => {
                    text.push(c);
                    *i += 2;
                }
                _ => return Err(malformed(*i, "`\\'` or `\\\\` after a backslash")),
            },
            Some(&c) => {
                text.push(c);
                *i += 1;
            }
        }
    }
}

fn number(chars: &[char], i: &mut usize) -> Result<Token, PatternError> {
    let start = *i;
    if matches!(chars.get(*i), Some('-' | '+')) {
        *i += 1;
    }
    let digits = |i: &mut usize| {
        let from = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > from
    };
    if !digits(i) {
        return Err(malformed(start, "a number"));
    }
    if chars.get(*i) == Some(&'.') {
        *i += 1;
        if !digits(i) {
            return Err(malformed(start, "digits after the decimal point"));
        }
    }
    Ok(Token::Number(chars[start..*i].iter().collect()))
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A keyword, a typed literal (`t'…'`) or an object path (`type:property.sub[*]`).
fn word_or_path(chars: &[char], i: &mut usize) -> Result<Token, PatternError> {
    let start = *i;
    while chars.get(*i).copied().is_some_and(is_word_char) {
        *i += 1;
    }
    let word: String = chars[start..*i].iter().collect();
    match chars.get(*i) {
        Some('\'') if matches!(word.as_str(), "t" | "b" | "h") => {
            let prefix = if word == "t" {
                't'
            } else if word == "b" {
                'b'
            } else {
                'h'
            };
            Ok(Token::Typed(prefix, quoted(chars, i)?))
        }
        Some(':') => {
            *i += 1;
            path_rest(chars, i)?;
            Ok(Token::Path(chars[start..*i].iter().collect()))
        }
        _ => Ok(Token::Word(word)),
    }
}

/// The properties after `type:`: names joined by `.`, quoted names, and `[*]` or `[n]`
/// list steps.
fn path_rest(chars: &[char], i: &mut usize) -> Result<(), PatternError> {
    let start = *i;
    loop {
        match chars.get(*i) {
            Some(&c) if is_word_char(c) || c == '.' => *i += 1,
            Some('\'') => {
                quoted(chars, i)?;
            }
            Some('[') => {
                let mut j = *i + 1;
                if chars.get(j) == Some(&'*') {
                    j += 1;
                } else {
                    while chars.get(j).is_some_and(char::is_ascii_digit) {
                        j += 1;
                    }
                }
                if j == *i + 1 || chars.get(j) != Some(&']') {
                    break;
                }
                *i = j + 1;
            }
            _ => break,
        }
    }
    if *i == start {
        return Err(malformed(start, "a property after `:`"));
    }
    Ok(())
}
