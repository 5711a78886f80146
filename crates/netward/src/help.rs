//! Text of `--help` beyond the options: the exit codes, and examples for the main commands.
//! The exit codes here are the ones `main.rs` returns; the README lists the same table.

/// After the top-level help.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the operation failed (the server refused it, or could not be reached)
  2  usage or configuration error (a bad argument, a missing token or config file)
  3  not found (no such indicator, alert, group, device, …)
  4  partly applied (an import in which some rows failed)

Connection: every command that talks to the server takes --server, --token, --ca-cert and
--config (or NETWARD_SERVER, NETWARD_TOKEN, NETWARD_CA_CERT, NETWARD_CONFIG); `netward server`
prints the lines to export at its first start.";

/// `netward server --help`.
pub const SERVER: &str = "\
Examples:
  netward server --data-dir /var/lib/netward
  netward server --listen 0.0.0.0:8440 --advertise https://netward.example.org:8440
  netward server recover-admin --data-dir /var/lib/netward";

/// `netward indicator --help`.
pub const INDICATOR: &str = "\
Examples:
  netward indicator add 203.0.113.7 --action block --title c2-beacon --severity High
  netward indicator add 198.51.100.0/24 --action audit --title scanner --expires 7d
  netward indicator list --action block
  netward indicator show 203.0.113.7
  netward indicator import feed.txt --action block --title \"feed X\"
  netward indicator rm 203.0.113.7";

/// `netward group --help`.
pub const GROUP: &str = "\
Examples:
  netward group create servers --mode audit --coverage tcp
  netward group policy servers
  netward group update servers --mode block";

/// `netward feed --help`.
pub const FEED: &str = "\
Examples:
  netward feed add firehol1 --kind plain \\
    --url https://raw.githubusercontent.com/firehol/blocklist-ipsets/master/firehol_level1.netset
  netward feed add drop6 --kind spamhaus-json --url https://www.spamhaus.org/drop/drop_v6.json \\
    --allow-wide-ranges true
  NETWARD_FEED_API_KEY=... netward feed add misp --kind misp-api --url https://misp.example
  netward feed show firehol1
  netward feed sync firehol1
  netward feed rm firehol1";

/// `netward token --help`.
pub const TOKEN: &str = "\
Examples:
  netward token create --name soc-bot --role analyst
  netward token list
  netward token revoke 3";

/// `netward enroll-token --help`.
pub const ENROLL_TOKEN: &str = "\
Examples:
  netward enroll-token create --group servers --uses 10
  netward agent --enroll 'nwe_…'        # then, on the endpoint, as root";

/// `netward alert --help`.
pub const ALERT: &str = "\
Examples:
  netward alert list --status new
  netward alert show 12
  netward alert resolve 12
  netward alert set-status 12 inProgress";

/// `netward events --help`.
pub const EVENTS: &str = "\
Examples:
  netward events --from 1h --outcome blocked
  netward events --remote-ip 203.0.113.0/24
  netward events --follow --json";

/// `netward hunt --help`.
pub const HUNT: &str = "\
Examples:
  netward hunt 203.0.113.7 --from 7d
  netward hunt 203.0.113.0/24 --from 2026-11-01T00:00:00Z";

/// `netward agent --help`.
pub const AGENT: &str = "\
Examples:
  netward agent --enroll 'nwe_…@https://host:8440#sha256:…'   # first start, as root
  netward agent                                                # later starts
  netward agent status
  netward agent --netns /run/netns/NAME     # enforce in a namespace (not `ip netns exec`)";

/// `netward lab --help`.
pub const LAB: &str = "\
Examples:
  netward lab                  # every protocol blocked
  netward lab --coverage tcp   # MDE's coverage: UDP passes";
