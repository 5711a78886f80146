//! The `netward` binary end to end: a real server process, and CLI commands against it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

use std::process::Command;

use netward_testkit::ServerProcess;

/// The binary under test, as Cargo built it.
const BIN: &str = env!("CARGO_BIN_EXE_netward");

#[test]
fn indicators_are_added_listed_shown_imported_and_removed_from_the_cli() {
    let s = ServerProcess::start(BIN);
    let added = s.json(&[
        "indicator",
        "add",
        "2001:0db8::0:1",
        "--action",
        "AlertAndBlock",
        "--title",
        "lab-test-access",
        "--severity",
        "High",
    ]);
    assert_eq!(added["indicatorValue"], "2001:db8::1");
    assert_eq!(added["generateAlert"], true);

    let table = s.ok(&["indicator", "list"]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("ID"), "{table}");
    assert!(lines.next().unwrap().contains("2001:db8::1"), "{table}");

    let shown = s.ok(&["indicator", "show", "2001:db8:0:0:0:0:0:1"]);
    assert!(
        shown.contains("lab-test-access") && shown.contains("High"),
        "{shown}"
    );
    assert!(shown.contains("enforced on 0/0 devices"), "{shown}");

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("iocs.csv");
    std::fs::write(
        &csv,
        "IndicatorType,IndicatorValue,ExpirationTime,Action,Severity,Title,Description,RecommendedActions,RbacGroups,Category,MitreTechniques,GenerateAlert\n\
         IpAddress,198.51.100.1,,Block,Low,csv-1,,,,,,false\n\
         IpAddress,198.51.100.0/16,,Block,Low,csv-2,,,,,,false\n",
    )
    .unwrap();
    let out = s.cli(&s.admin, &["indicator", "import", csv.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a partial import exits 4: partly applied"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 applied, 1 failed"), "{stdout}");
    assert!(
        stdout.contains("198.51.0.0/16"),
        "the failed row names the canonical network: {stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 2 items failed"));

    let list = dir.path().join("feed.txt");
    std::fs::write(&list, "# feed\n203.0.113.1\n203.0.113.2\n").unwrap();
    let report = s.ok(&[
        "indicator",
        "import",
        list.to_str().unwrap(),
        "--action",
        "audit",
        "--title",
        "feed",
        "--group",
        "default",
    ]);
    assert!(report.contains("2 applied, 0 failed"), "{report}");
    let audited = s.json(&[
        "indicator",
        "list",
        "--action",
        "audit",
        "--group",
        "default",
    ]);
    assert_eq!(audited["value"].as_array().unwrap().len(), 2);

    s.ok(&["indicator", "rm", "203.0.113.1"]);
    let out = s.cli(&s.admin, &["indicator", "show", "203.0.113.1"]);
    assert_eq!(out.status.code(), Some(3), "not found");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no indicator has the value 203.0.113.1")
    );
}

#[test]
fn errors_are_clear_and_exit_non_zero() {
    let s = ServerProcess::start(BIN);
    let out = s.cli(
        &s.admin,
        &[
            "indicator",
            "add",
            "10.1.2.3/24",
            "--action",
            "block",
            "--title",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("10.1.2.0/24") && err.starts_with("error: the VALUE argument: "),
        "the field is named as the command line names it: {err}"
    );

    let out = s.cli("nwt_wrong", &["indicator", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown or revoked") && err.contains("check NETWARD_TOKEN / --token"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        err.matches("unknown or revoked").count(),
        1,
        "said once: {err}"
    );

    // An empty token is no token: a configuration error, before anything is sent.
    assert_eq!(s.cli("", &["indicator", "list"]).status.code(), Some(2));

    let out = Command::new(BIN)
        .args(["indicator", "list"])
        .env_remove("NETWARD_TOKEN")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("HOME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no API token"));

    let out = Command::new(BIN)
        .args([
            "indicator",
            "list",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "nwt_x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the netward server: connection refused; is the server running? tried http://127.0.0.1:9"),
        "{err}"
    );
    assert_eq!(
        err.lines().count(),
        1,
        "one line, not reqwest's chain: {err}"
    );
}

/// Each exit code of the table in the README and `netward --help`, from a command that
/// should return it.
#[test]
fn exit_codes_say_what_happened() {
    let s = ServerProcess::start(BIN);
    let code = |args: &[&str]| s.cli(&s.admin, args).status.code();
    // 3: not found, by value, by id, and for alerts and groups.
    assert_eq!(code(&["indicator", "rm", "192.0.2.99"]), Some(3));
    assert_eq!(code(&["indicator", "show", "999"]), Some(3));
    assert_eq!(code(&["alert", "resolve", "99"]), Some(3));
    assert_eq!(code(&["alert", "show", "99"]), Some(3));
    assert_eq!(code(&["alert", "assign", "99", "alice"]), Some(3));
    assert_eq!(code(&["alert", "comment", "99", "seen"]), Some(3));
    assert_eq!(code(&["alert", "classify", "99", "FalsePositive"]), Some(3));
    assert_eq!(code(&["incident", "resolve", "99"]), Some(3));
    assert_eq!(code(&["group", "show", "nope"]), Some(3));
    // 2: a value the model has a type for is checked before anything is sent.
    for args in [
        &[
            "indicator",
            "add",
            "192.0.2.1",
            "--action",
            "blok",
            "--title",
            "x",
        ][..],
        &[
            "indicator",
            "add",
            "192.0.2.1",
            "--action",
            "block",
            "--title",
            "x",
            "--severity",
            "urgent",
        ],
        &[
            "indicator",
            "add",
            "192.0.2.1",
            "--action",
            "block",
            "--title",
            "x",
            "--expires",
            "7y",
        ],
        &["indicator", "list", "--action", "blok"],
        &["alert", "set-status", "1", "closed"],
        &["alert", "list", "--status", "closed"],
        &["alert", "classify", "1", "Benign"],
        &[
            "alert",
            "classify",
            "1",
            "TruePositive",
            "--determination",
            "Evil",
        ],
        &["alert", "assign", "1"],
        &["incident", "set-status", "1", "closed"],
        &["group", "create", "g", "--coverage", "udp"],
        &["group", "create", "g", "--mode", "on"],
        &["token", "create", "--name", "t", "--role", "root"],
        &["events", "--outcome", "denied"],
        &["lab", "--coverage", "udp"],
    ] {
        let out = s.cli(&s.admin, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
    let out = s.cli(&s.admin, &["alert", "set-status", "1", "closed"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("new, inProgress or resolved"),
        "{out:?}"
    );
    // 1: the server refused it.
    assert_eq!(
        code(&[
            "indicator",
            "add",
            "127.0.0.1",
            "--action",
            "block",
            "--title",
            "x"
        ]),
        Some(1)
    );
    // 0, with a relative time.
    assert_eq!(
        code(&[
            "indicator",
            "add",
            "192.0.2.1",
            "--action",
            "block",
            "--title",
            "x",
            "--expires",
            "7d"
        ]),
        Some(0)
    );
    // 2: a config file named in the environment must exist, even when the rest is set.
    let out = Command::new(BIN)
        .args(["group", "list"])
        .env("NETWARD_SERVER", &s.url)
        .env("NETWARD_TOKEN", &s.admin)
        .env("NETWARD_CONFIG", "/nonexistent/cli.toml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cli.toml"),
        "{out:?}"
    );
}

/// Errors name the flag the person typed, and say `--force`, not the API's words.
#[test]
fn errors_name_the_flags_not_the_api_fields() {
    let s = ServerProcess::start(BIN);
    let err = |args: &[&str]| {
        let out = s.cli(&s.admin, args);
        assert!(!out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = err(&[
        "indicator",
        "add",
        "192.0.2.1",
        "--action",
        "block",
        "--title",
        "x",
        "--expires",
        "2020-01-01T00:00:00Z",
    ]);
    assert!(e.starts_with("error: --expires: "), "{e}");
    assert!(!e.contains("expirationTime"), "{e}");
    let e = err(&[
        "indicator",
        "add",
        "127.0.0.1",
        "--action",
        "block",
        "--title",
        "x",
    ]);
    assert!(e.contains("resubmit with --force"), "{e}");
    let e = err(&[
        "indicator",
        "add",
        "192.0.2.1",
        "--action",
        "block",
        "--title",
        "x",
        "--group",
        "nowhere",
    ]);
    assert!(e.starts_with("error: --group: "), "{e}");
    let e = err(&["enroll-token", "create", "--group", "nowhere"]);
    assert!(
        e.starts_with("error: --group: ") || e.contains("nowhere"),
        "{e}"
    );
}

/// A viewer's write names the role it needs and how to get a token with it.
#[test]
fn a_refused_role_says_which_role_is_needed() {
    let s = ServerProcess::start(BIN);
    let created = s.json(&["token", "create", "--name", "wall", "--role", "viewer"]);
    let viewer = created["secret"].as_str().unwrap();
    let out = s.cli(viewer, &["group", "create", "g"]);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("needs admin") && e.contains("netward token create --role admin"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
}

/// The connection options are under their own heading, on the commands that use them only;
/// `--help` lists the exit codes, and the main commands have examples.
#[test]
fn help_shows_connection_options_only_where_they_apply() {
    let help = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&["--help"]);
    assert!(
        top.contains("Exit codes:") && top.contains("4  partly applied"),
        "{top}"
    );
    let add = help(&["indicator", "add", "--help"]);
    let heading = add.find("Connection:").expect("a Connection heading");
    assert!(add[heading..].contains("--server"), "{add}");
    assert!(!add[..heading].contains("--server"), "{add}");
    assert!(!add.lines().next().unwrap().contains("--token"), "{add}");
    assert!(help(&["indicator", "--help"]).contains("Examples:"));
    for cmd in ["server", "agent", "lab"] {
        let h = help(&[cmd, "--help"]);
        assert!(
            !h.contains("--token") && !h.contains("Connection:"),
            "{cmd}: {h}"
        );
        assert!(h.contains("Examples:"), "{cmd}: {h}");
    }
    // The agent's own --server (the replicas' URLs) is not the CLI's connection option.
    for cmd in ["server", "lab"] {
        assert!(!help(&[cmd, "--help"]).contains("--server"), "{cmd}");
    }
}

/// Outcomes and actions are coloured on a terminal only: `CLICOLOR_FORCE` stands in for the
/// terminal here; piped output, `NO_COLOR` and `--json` never are.
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color_or_json() {
    let s = ServerProcess::start(BIN);
    s.ok(&[
        "indicator",
        "add",
        "192.0.2.1",
        "--action",
        "block",
        "--title",
        "x",
    ]);
    let run = |env: &[(&str, &str)], json: bool| {
        let mut c = Command::new(BIN);
        c.args(["indicator", "list"])
            .env("NETWARD_SERVER", &s.url)
            .env("NETWARD_TOKEN", &s.admin)
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        if json {
            c.arg("--json");
        }
        for (k, v) in env {
            c.env(k, v);
        }
        String::from_utf8(c.output().unwrap().stdout).unwrap()
    };
    assert!(run(&[("CLICOLOR_FORCE", "1")], false).contains("\u{1b}[31mblock\u{1b}[0m"));
    let show = Command::new(BIN)
        .args(["indicator", "show", "192.0.2.1"])
        .env("NETWARD_SERVER", &s.url)
        .env("NETWARD_TOKEN", &s.admin)
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("\u{1b}[31mblock\u{1b}[0m"),
        "{show:?}"
    );
    assert!(!run(&[], false).contains('\u{1b}'), "piped");
    assert!(!run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], false).contains('\u{1b}'));
    assert!(!run(&[("CLICOLOR_FORCE", "1")], true).contains('\u{1b}'));
}

/// `list` and `show` spell an action the same way; the audit log shows times as RFC 3339.
#[test]
fn actions_are_spelled_alike_and_the_audit_log_shows_rfc3339() {
    let s = ServerProcess::start(BIN);
    s.ok(&[
        "indicator",
        "add",
        "192.0.2.1",
        "--action",
        "Block",
        "--title",
        "x",
        "--expires",
        "12h",
    ]);
    s.ok(&[
        "indicator",
        "add",
        "192.0.2.2",
        "--action",
        "AlertAndBlock",
        "--title",
        "y",
    ]);
    let list = s.ok(&["indicator", "list"]);
    let show = s.ok(&["indicator", "show", "192.0.2.1"]);
    let row = list.lines().find(|l| l.contains("192.0.2.1 ")).unwrap();
    assert!(row.split_whitespace().nth(2) == Some("block"), "{list}");
    assert!(
        show.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["action", "block"]),
        "{show}"
    );
    assert!(list.contains("block (AlertAndBlock)"), "{list}");
    assert!(
        s.ok(&["indicator", "show", "192.0.2.2"])
            .contains("block (AlertAndBlock)")
    );
    let audit = s.ok(&["audit", "--target", "192.0.2.1"]);
    let expires = audit.split("\"expiresAt\":").nth(1).unwrap_or_default();
    assert!(expires.starts_with("\"20"), "an RFC 3339 time: {audit}");
    // The audit log takes relative times too.
    assert!(s.ok(&["audit", "--since", "1h"]).contains("192.0.2.1"));
    assert!(
        !s.ok(&["audit", "--from", "2100-01-01T00:00:00Z"])
            .contains("192.0.2.1")
    );
}

/// The first start prints the exports to paste; an enrollment token for a loopback URL comes
/// with the hint that agents elsewhere cannot reach it.
#[test]
fn the_first_start_prints_exports_and_loopback_enrollment_gets_a_hint() {
    let s = ServerProcess::start(BIN);
    assert_eq!(
        s.exports,
        format!("export NETWARD_SERVER={} NETWARD_TOKEN={}", s.url, s.admin)
    );
    let out = s.cli(&s.admin, &["enroll-token", "create"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("loopback") && err.contains("--advertise"),
        "{err}"
    );
}

#[test]
fn roles_tokens_groups_settings_and_the_config_file() {
    let s = ServerProcess::start(BIN);
    let created = s.json(&["token", "create", "--name", "wallboard", "--role", "viewer"]);
    let viewer = created["secret"].as_str().unwrap().to_owned();
    let out = s.cli(
        &viewer,
        &[
            "indicator",
            "add",
            "192.0.2.1",
            "--action",
            "block",
            "--title",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs analyst"));
    assert!(s.cli(&viewer, &["group", "list"]).status.success());

    s.ok(&[
        "group",
        "create",
        "kiosks",
        "--mode",
        "audit",
        "--coverage",
        "tcp",
    ]);
    let groups = s.ok(&["group", "list"]);
    assert!(
        groups
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["kiosks", "audit", "tcp"]),
        "{groups}"
    );
    s.ok(&["settings", "set", "--custom-network-indicators", "off"]);
    assert!(s.ok(&["settings", "show"]).contains("off"));
    let policy = s.json(&["group", "policy", "kiosks"]);
    assert_eq!(policy["mode"], "off");

    let tokens = s.ok(&["token", "list"]);
    assert!(tokens.contains("wallboard") && tokens.contains("viewer"));
    let audit = s.ok(&["audit"]);
    assert!(
        audit.contains("settings.update") && audit.contains("group.create"),
        "{audit}"
    );

    // Server and token from a config file, when neither flag nor variable is set.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    std::fs::write(
        &config,
        format!("server = \"{}\"\ntoken = \"{}\"\n", s.url, s.admin),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["group", "list", "--config"])
        .arg(&config)
        .env_remove("NETWARD_SERVER")
        .env_remove("NETWARD_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&config, "server = 1\n").unwrap();
    let out = Command::new(BIN)
        .args(["group", "list", "--config"])
        .arg(&config)
        .env_remove("NETWARD_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cli.toml"));
}

/// The way back in: with every admin token revoked, root on the server host mints a new one
/// from the data directory, while the server runs, and the audit log records it.
#[test]
fn an_admin_locked_out_recovers_with_a_token_minted_on_the_host() {
    let s = ServerProcess::start(BIN);
    let data = s.dir.path().join("data");
    let tokens = s.json(&["token", "list"]);
    let admin_id = tokens["value"][0]["id"].as_str().unwrap().to_owned();
    let out = s.cli(&s.admin, &["token", "revoke", &admin_id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{out:?}"
    );
    s.ok(&["token", "revoke", &admin_id, "--force"]);
    assert_eq!(s.cli(&s.admin, &["token", "list"]).status.code(), Some(1));

    let out = Command::new(BIN)
        .args(["server", "recover-admin", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let secret = stdout
        .split_whitespace()
        .find(|w| w.starts_with("nwt_"))
        .unwrap_or_else(|| panic!("no secret in {stdout}"));
    let audit = String::from_utf8_lossy(&s.cli(secret, &["audit"]).stdout).into_owned();
    assert!(audit.contains("recover-admin"), "{audit}");

    // A directory with no store is refused, not turned into an empty one.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["server", "recover-admin", "--data-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no netward.db"));
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

/// `--data-dir` pointed at a directory that is not the server's own (it holds other files) is
/// refused, and left as it was.
#[test]
fn a_data_dir_that_is_not_the_servers_own_is_refused_and_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let shared = parent.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("notes.txt"), "alice's").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(BIN)
        .args([
            "server",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&shared)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds other files"), "{stderr}");
    let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755);
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 1);

    // A directory that does not exist yet is created for the server alone.
    let s = ServerProcess::start(BIN);
    let mode = std::fs::metadata(s.dir.path().join("data"))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o700);
}

/// Over TLS: the right CA works; another CA's certificate is refused with both fingerprints,
/// the presented one being the one the server printed at start.
#[test]
fn a_ca_mismatch_names_the_expected_and_the_presented_fingerprints() {
    let s = ServerProcess::start_tls(BIN);
    let other = ServerProcess::start_tls(BIN);
    let run = |ca: &str| {
        Command::new(BIN)
            .args([
                "group",
                "list",
                "--server",
                &s.url,
                "--token",
                &s.admin,
                "--ca-cert",
                ca,
            ])
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .unwrap()
    };
    let out = run(s.ca.as_deref().unwrap());
    assert!(out.status.success(), "{out:?}");
    let out = run(other.ca.as_deref().unwrap());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = other.ca_fingerprint.as_deref().unwrap();
    let presented = s.ca_fingerprint.as_deref().unwrap();
    assert!(
        err.contains(&format!("expected CA sha256 {expected}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("presented CA sha256 {presented}")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(s.exports.contains(" NETWARD_CA_CERT="), "{}", s.exports);
}

/// The wrong scheme for the server: http:// to a TLS server, https:// to a plain-HTTP one,
/// each with the hint to use the other.
#[test]
fn the_wrong_scheme_is_pointed_out() {
    let tls = ServerProcess::start_tls(BIN);
    let plain = ServerProcess::start(BIN);
    let run = |server: &str| {
        let out = Command::new(BIN)
            .args(["group", "list", "--server", server, "--token", &tls.admin])
            .args(["--ca-cert", tls.ca.as_deref().unwrap()])
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&tls.url.replace("https://", "http://"));
    assert!(e.contains("then use https://"), "{e}");
    let e = run(&plain.url.replace("http://", "https://"));
    assert!(e.contains("then use http://"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

/// Issue 11: a list that holds more than a page says so on standard error (standard output
/// stays the list), `--all` walks every page, the containment and title filters search every
/// indicator, and `rm` by filter counts first, refuses without a terminal unless `--yes`,
/// and deletes in one change.
#[test]
fn lists_say_how_many_there_are_and_rm_deletes_by_filter_after_counting() {
    let s = ServerProcess::start(BIN);
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.txt");
    let lines: String = (0..10_050u32)
        .map(|i| format!("10.{}.{}.{}\n", i / 62_500, (i / 250) % 250, i % 250 + 1))
        .collect();
    std::fs::write(&feed, lines).unwrap();
    let report = s.ok(&[
        "indicator",
        "import",
        feed.to_str().unwrap(),
        "--action",
        "block",
        "--title",
        "bulk feed",
    ]);
    assert!(report.contains("10050 applied"), "{report}");
    let import_id = report
        .split("import ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .expect("the import names its id")
        .to_owned();
    let imported = s.json(&["indicator", "list", "--import", &import_id, "--top", "5"]);
    assert_eq!(imported["value"].as_array().unwrap().len(), 5);
    let one = imported["value"][0]["indicatorValue"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = s.ok(&["indicator", "show", &one]);
    assert!(
        shown.contains(&format!("import  {import_id}")) || shown.contains(&import_id),
        "{shown}"
    );
    s.ok(&[
        "indicator",
        "add",
        "203.0.113.0/24",
        "--action",
        "audit",
        "--title",
        "Scanner range",
    ]);

    let out = s.cli(&s.admin, &["indicator", "list"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 10_001, "a header and a page");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("10,000 of 10,051 shown"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = s.cli(&s.admin, &["indicator", "list", "--all", "--top", "3000"]);
    assert!(all.status.success());
    let all_out = String::from_utf8_lossy(&all.stdout);
    assert_eq!(
        all_out.lines().count(),
        10_052,
        "one header and every indicator"
    );
    assert!(all_out.lines().last().unwrap().contains("203.0.113.0/24"));
    let every = s.json(&["indicator", "list", "--all"]);
    assert_eq!(every["@odata.count"], 10_051);
    assert_eq!(every["value"].as_array().unwrap().len(), 10_051);

    let covering = s.json(&["indicator", "list", "--containing", "203.0.113.9"]);
    assert_eq!(covering["value"][0]["indicatorValue"], "203.0.113.0/24");
    let titled = s.json(&["indicator", "list", "--title", "scanner"]);
    assert_eq!(titled["value"].as_array().unwrap().len(), 1);

    // rm by filter: a dry run counts, no terminal and no --yes refuses, --yes deletes.
    let dry = s.ok(&["indicator", "rm", "--title", "bulk feed", "--dry-run"]);
    assert!(
        dry.contains("10,050 indicators match; nothing was deleted"),
        "{dry}"
    );
    let refused = s.cli(&s.admin, &["indicator", "rm", "--title", "bulk feed"]);
    assert_eq!(refused.status.code(), Some(2), "a usage error");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("pass --yes"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let values = dir.path().join("values.txt");
    std::fs::write(&values, "# two of them\n10.0.0.1\n10.0.0.2\n").unwrap();
    let by_file = s.ok(&[
        "indicator",
        "rm",
        "--file",
        values.to_str().unwrap(),
        "--yes",
    ]);
    assert!(by_file.contains("deleted 2 indicators"), "{by_file}");
    let gone = s.ok(&["indicator", "rm", "--title", "bulk feed", "--yes"]);
    assert!(gone.contains("deleted 10,048 indicators"), "{gone}");
    let left = s.json(&["indicator", "list"]);
    assert_eq!(left["value"].as_array().unwrap().len(), 1);
    let bad = s.cli(
        &s.admin,
        &["indicator", "rm", "--action", "block", "203.0.113.0/24"],
    );
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an indicator or filters, not both"
    );
}

#[test]
fn feeds_are_added_listed_shown_synced_and_removed_from_the_cli() {
    let s = ServerProcess::start(BIN);
    let list = netward_testkit::ListServer::start(
        "level1.netset",
        "# FireHOL level 1\n203.0.113.10\n198.51.100.0/24\n10.0.0.1/24\n",
    );
    let url = list.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "hunter2\n").unwrap();
    let added = s.ok(&[
        "feed",
        "add",
        "level1",
        "--kind",
        "plain",
        "--url",
        &url,
        "--username",
        "netward",
        "--password-file",
        password.to_str().unwrap(),
    ]);
    assert!(
        added.contains("password") && added.contains("set"),
        "{added}"
    );
    assert!(
        !added.contains("hunter2"),
        "a secret is never printed: {added}"
    );

    // The first refresh follows at once.
    netward_testkit::wait::wait_for(
        "the feed's first run",
        std::time::Duration::from_secs(20),
        || {
            let list = s.ok(&["feed", "list"]);
            list.contains("applied +2 -0 =0 !1").then_some(list)
        },
    );
    let shown = s.ok(&["feed", "show", "level1"]);
    assert!(
        shown.contains("10.0.0.1/24") && shown.contains("host bits"),
        "{shown}"
    );
    let listed = s.ok(&["indicator", "list", "--source", "level1"]);
    assert!(listed.contains("203.0.113.10"), "{listed}");

    list.set("203.0.113.10\n198.51.100.0/24\n192.0.2.99\n");
    let run = s.json(&["feed", "sync", "level1"]);
    assert_eq!(
        (
            &run["status"],
            &run["added"],
            &run["unchanged"],
            &run["refused"]
        ),
        (
            &serde_json::json!("applied"),
            &serde_json::json!(1),
            &serde_json::json!(2),
            &serde_json::json!(0)
        ),
        "{run}"
    );

    // A feed's indicator is removed through the feed, not by hand.
    let out = s.cli(&s.admin, &["indicator", "rm", "192.0.2.99"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("feed `level1`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = s.cli(
        &s.admin,
        &["feed", "add", "bad", "--kind", "rss", "--url", &url],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--kind"),
        "{out:?}"
    );

    s.ok(&["feed", "rm", "level1"]);
    let listed = s.ok(&["indicator", "list", "--source", "level1"]);
    assert!(!listed.contains("203.0.113.10"), "{listed}");
}
