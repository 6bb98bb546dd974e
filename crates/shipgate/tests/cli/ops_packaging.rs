//! The service files in `packaging/`: the systemd unit (parsed here, and
//! checked by `systemd-analyze verify`) and the Dockerfile (its structure;
//! Docker itself cannot run in the test environment).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::util::peer;

fn packaging(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging")
        .join(file)
}

/// `[Section]` → key → values (a key may repeat), comments skipped.
fn parse_unit(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut sections: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut current = None;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.to_owned());
            sections.entry(name.to_owned()).or_default();
            continue;
        }
        let section = current
            .clone()
            .unwrap_or_else(|| panic!("line {}: key outside a section", number + 1));
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: not KEY=VALUE: {line}", number + 1));
        sections
            .entry(section)
            .or_default()
            .entry(key.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    sections
}

#[test]
fn the_systemd_unit_is_sandboxed_and_verifies() {
    let path = packaging("shipgate-gate.service");
    let text = std::fs::read_to_string(&path).unwrap();
    let unit = parse_unit(&text);
    let service = &unit["Service"];
    let one = |key: &str| -> &str {
        let values = service
            .get(key)
            .unwrap_or_else(|| panic!("[Service] has no {key}="));
        values.last().unwrap()
    };
    assert!(one("ExecStart").ends_with("shipgate serve --config /etc/shipgate/gate.toml"));
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    let user = service
        .get("User")
        .and_then(|v| v.last())
        .map(String::as_str);
    assert!(
        service
            .get("DynamicUser")
            .is_some_and(|v| v.last().unwrap() == "yes")
            || user.is_some_and(|u| u != "root" && u != "0"),
        "the gate must not run as root"
    );
    for (key, value) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("StateDirectory", "shipgate"),
        ("StateDirectoryMode", "0700"),
        ("ReadWritePaths", "/var/lib/shipgate"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("UMask", "0077"),
    ] {
        assert_eq!(one(key), value, "{key}");
    }
    assert_eq!(unit["Install"]["WantedBy"], ["multi-user.target"]);

    // systemd's own parser: with the real binary in ExecStart (verify checks
    // that it exists). It exits 0 even on unknown keys and bad values, so
    // any message naming the unit file fails the test.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("shipgate-gate.service");
    std::fs::write(
        &copy,
        text.replace("/usr/local/bin/shipgate", env!("CARGO_BIN_EXE_shipgate")),
    )
    .unwrap();
    let out = std::process::Command::new(peer("systemd-analyze"))
        .args(["verify", "--man=no"])
        .arg(&copy)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap();
    let messages =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{messages}");
    assert!(!messages.contains("shipgate-gate.service"), "{messages}");

    // The check catches a typo (the parser above would not).
    std::fs::write(
        &copy,
        std::fs::read_to_string(&copy)
            .unwrap()
            .replace("ProtectSystem=", "ProtectSytem="),
    )
    .unwrap();
    let out = std::process::Command::new(peer("systemd-analyze"))
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown key 'ProtectSytem'"));
}

/// (instruction, arguments) of each Dockerfile line, continuations joined.
fn parse_dockerfile(text: &str) -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let (instruction, args) = pending.split_once(' ').unwrap_or((&pending, ""));
        instructions.push((instruction.to_ascii_uppercase(), args.trim().to_owned()));
        pending.clear();
    }
    assert!(pending.is_empty(), "Dockerfile ends in a continuation");
    instructions
}

#[test]
fn the_dockerfile_builds_static_and_runs_unprivileged_with_a_data_volume() {
    let text = std::fs::read_to_string(packaging("Dockerfile")).unwrap();
    let all = parse_dockerfile(&text);
    let known = [
        "FROM",
        "RUN",
        "COPY",
        "WORKDIR",
        "USER",
        "VOLUME",
        "EXPOSE",
        "ENTRYPOINT",
        "CMD",
        "ENV",
        "ARG",
        "LABEL",
    ];
    for (instruction, _) in &all {
        assert!(
            known.contains(&instruction.as_str()),
            "unknown {instruction}"
        );
    }
    let stages: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, (i, _))| i == "FROM")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a run stage");
    assert!(
        all[stages[0]].1.contains("alpine"),
        "musl build: {}",
        all[stages[0]].1
    );
    assert!(all[stages[0]].1.ends_with(" AS build"));
    let run_stage = &all[stages[1]..];
    let base = &run_stage[0].1;
    assert!(
        base.starts_with("gcr.io/distroless/static") || base == "scratch",
        "minimal base: {base}"
    );
    let last = |name: &str| {
        run_stage
            .iter()
            .rev()
            .find(|(i, _)| i == name)
            .map(|(_, a)| a.as_str())
            .unwrap_or_else(|| panic!("no {name} in the run stage"))
    };
    let user = last("USER");
    let uid = user.split(':').next().unwrap();
    assert!(
        uid != "root" && uid != "0" && !uid.is_empty(),
        "USER {user}"
    );
    assert_eq!(last("VOLUME"), r#"["/var/lib/shipgate"]"#);
    assert_eq!(last("ENTRYPOINT"), r#"["/usr/local/bin/shipgate"]"#);
    assert_eq!(
        last("CMD"),
        r#"["serve", "--config", "/etc/shipgate/gate.toml"]"#
    );
    assert!(
        run_stage.iter().any(|(i, a)| i == "COPY"
            && a.starts_with("--from=build")
            && a.contains("/usr/local/bin/shipgate")),
        "the binary comes from the build stage"
    );
    let build = all[..stages[1]]
        .iter()
        .find(|(i, a)| i == "RUN" && a.contains("cargo build"))
        .map(|(_, a)| a.clone())
        .unwrap();
    assert!(
        build.contains("--release") && build.contains("--locked"),
        "{build}"
    );
}

/// The example config the unit and the image use loads.
#[test]
fn the_example_gate_toml_parses() {
    let text = std::fs::read_to_string(packaging("gate.toml")).unwrap();
    let config = shipgate_gate::config::GateConfig::parse(
        &text,
        std::path::Path::new("gate.toml"),
        std::path::Path::new("/etc/shipgate"),
    )
    .unwrap();
    assert_eq!(config.data_dir(), PathBuf::from("/var/lib/shipgate/data"));
    assert!(config.tls_paths().is_some());
    assert!(config.metrics_listen.is_some());
}
