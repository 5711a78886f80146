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
        Some(1),
        "a partial import exits non-zero"
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
    assert!(!out.status.success());
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
        err.contains("10.1.2.0/24") && err.contains("indicatorValue"),
        "{err}"
    );

    let out = s.cli("nwt_wrong", &["indicator", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown or revoked"));

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
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the netward server"));
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
