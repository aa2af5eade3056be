//! The docker-compose deployment (docker-compose.yml, .env.example, deploy/)
//! checked without a Docker engine: the file's structure (health checks,
//! start order), every flag and environment variable it gives a Sigil binary
//! against that binary's own `--help`, and every key path against what
//! `sigil keygen` writes.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use test_support::{check, free_port, sigil_bin, workspace_root};

/// A YAML file as JSON, through PyYAML (YAML 1.1, merge keys: what Compose
/// accepts too).
fn yaml(path: &Path) -> Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(path)
        .output()
        .expect("python3 with PyYAML is needed to parse the compose file");
    check(&out, "parsing YAML with python3 + PyYAML").unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn compose() -> Value {
    yaml(&workspace_root().join("docker-compose.yml"))
}

/// A binary of the same build as this test.
fn bin(name: &str) -> PathBuf {
    sigil_bin().with_file_name(name)
}

fn help(command: &[String]) -> String {
    let out = Command::new(bin(&command[0]))
        .args(&command[1..])
        .arg("--help")
        .output()
        .unwrap();
    check(&out, "--help").unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn services_start_in_order_behind_health_checks() {
    let c = compose();
    let services = &c["services"];
    for name in ["postgres", "init", "tlog-server", "ca-server"] {
        assert!(services.get(name).is_some(), "service {name} is missing");
    }
    let pg = &services["postgres"];
    assert!(pg["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(strings(&pg["healthcheck"]["test"])
        .join(" ")
        .contains("pg_isready"));
    for (name, port) in [("tlog-server", 3000), ("ca-server", 5555)] {
        let test = strings(&services[name]["healthcheck"]["test"]).join(" ");
        assert!(
            test.contains(&format!("localhost:{port}/healthz")),
            "{name}: {test}"
        );
        assert_eq!(
            services[name]["build"], ".",
            "{name} is built from the root Dockerfile"
        );
    }
    let condition =
        |service: &str, on: &str| services[service]["depends_on"][on]["condition"].clone();
    assert_eq!(condition("tlog-server", "postgres"), "service_healthy");
    assert_eq!(
        condition("tlog-server", "init"),
        "service_completed_successfully"
    );
    assert_eq!(condition("ca-server", "tlog-server"), "service_healthy");
    assert_eq!(
        condition("ca-server", "init"),
        "service_completed_successfully"
    );
    // The same image everywhere; the init service is one-shot.
    let image = &services["init"]["image"];
    assert_eq!(&services["tlog-server"]["image"], image);
    assert_eq!(&services["ca-server"]["image"], image);
    assert_eq!(services["init"]["restart"], "no");
    // The database password never appears on a command line.
    for name in ["tlog-server", "ca-server"] {
        let command = strings(&services[name]["command"]).join(" ");
        assert!(!command.contains("POSTGRES_PASSWORD"), "{name}: {command}");
    }
}

#[test]
fn every_flag_and_variable_is_one_the_binaries_take() {
    let c = compose();
    for (name, service) in c["services"].as_object().unwrap() {
        let Some(command) = service.get("command") else {
            continue;
        };
        let command = strings(command);
        // `sigil keygen --out` → help of `sigil keygen`.
        let subcommand = usize::from(command[0] == "sigil") + 1;
        let help = help(&command[..subcommand]);
        for flag in command.iter().filter(|a| a.starts_with("--")) {
            let flag = flag.split('=').next().unwrap();
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "{name}: `{}` has no flag {flag}:\n{help}",
                command[..subcommand].join(" ")
            );
        }
        if let Some(env) = service.get("environment").and_then(Value::as_object) {
            for var in env.keys().filter(|v| *v != "RUST_LOG") {
                assert!(
                    help.contains(&format!("[env: {var}")),
                    "{name}: unknown variable {var}"
                );
            }
        }
    }
}

#[test]
fn key_paths_are_what_sigil_keygen_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let c = compose();
    let init = strings(&c["services"]["init"]["command"]);
    assert_eq!(init[..2], ["sigil", "keygen"]);
    // The init command, with the volume's mount point moved to a temp dir.
    let args: Vec<String> = init[1..]
        .iter()
        .map(|a| {
            if a == "/keys" {
                keys.display().to_string()
            } else {
                a.clone()
            }
        })
        .map(|a| {
            if a.starts_with("${") {
                "Example".to_owned()
            } else {
                a
            }
        })
        .collect();
    let out = Command::new(bin("sigil")).args(&args).output().unwrap();
    check(&out, "sigil keygen").unwrap();
    let mut used = BTreeSet::new();
    for name in ["tlog-server", "ca-server"] {
        for arg in strings(&c["services"][name]["command"]) {
            if let Some(file) = arg.strip_prefix("/keys/") {
                used.insert(file.to_owned());
            }
        }
    }
    assert!(used.len() >= 5, "{used:?}");
    for file in &used {
        assert!(keys.join(file).is_file(), "keygen wrote no {file}");
    }
    // A second start keeps the keys.
    let before = std::fs::read(keys.join("ca.key.pem")).unwrap();
    let out = Command::new(bin("sigil")).args(&args).output().unwrap();
    check(&out, "sigil keygen (again)").unwrap();
    assert_eq!(std::fs::read(keys.join("ca.key.pem")).unwrap(), before);
}

#[test]
fn env_example_defines_every_required_variable() {
    let root = workspace_root();
    let compose = std::fs::read_to_string(root.join("docker-compose.yml")).unwrap();
    let example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    let defined: BTreeSet<&str> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let mut rest = compose.as_str();
    let mut seen = 0;
    while let Some(start) = rest.find("${") {
        let var = &rest[start + 2..];
        let end = var.find([':', '}', '-']).unwrap();
        assert!(
            defined.contains(&var[..end]),
            "{} is not in .env.example",
            &var[..end]
        );
        rest = &var[end..];
        seen += 1;
    }
    assert!(seen > 5);
}

#[test]
fn example_ca_config_is_fulcio_shaped() {
    let config = yaml(&workspace_root().join("deploy/ca-config.yaml"));
    let issuers = config["oidc-issuers"].as_object().unwrap();
    let types: BTreeSet<&str> = issuers
        .iter()
        .map(|(url, issuer)| {
            assert_eq!(issuer["issuer-url"].as_str(), Some(url.as_str()));
            assert_eq!(issuer["client-id"], "sigstore");
            issuer["type"].as_str().unwrap()
        })
        .collect();
    assert!(
        types.contains("email") && types.contains("github-workflow"),
        "{types:?}"
    );
}

/// Kills the child when dropped, so a failed assertion leaves no server behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ca_server_starts_with_the_compose_command_and_example_config() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let out = Command::new(bin("sigil"))
        .args(["keygen", "--out"])
        .arg(&keys)
        .output()
        .unwrap();
    check(&out, "sigil keygen").unwrap();
    // The compose command, with container paths mapped to this machine's.
    let config = workspace_root().join("deploy/ca-config.yaml");
    let port = free_port();
    let command = strings(&compose()["services"]["ca-server"]["command"]);
    let args: Vec<String> = command[1..]
        .iter()
        .map(|a| match a.as_str() {
            "0.0.0.0:5555" => format!("127.0.0.1:{port}"),
            "/etc/sigil/ca-config.yaml" => config.display().to_string(),
            // Nothing listens there: the CA contacts the CT log per request.
            "http://tlog-server:3000" => "http://127.0.0.1:9".to_owned(),
            other => match other.strip_prefix("/keys/") {
                Some(file) => keys.join(file).display().to_string(),
                None => other.to_owned(),
            },
        })
        .collect();
    let err_path = tmp.path().join("ca-server.err");
    let child = Command::new(bin("ca-server"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    let client = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            let err = std::fs::read_to_string(&err_path).unwrap();
            panic!("ca-server exited with {status}:\n{err}");
        }
        let healthy = client
            .get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|r| r.status().is_success());
        if healthy {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ca-server never became healthy"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let configuration: Value = client
        .get(format!("{base}/api/v2/configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let issuers = configuration["issuers"].to_string();
    for url in [
        "https://sso.example.com/realms/engineering",
        "https://token.actions.githubusercontent.com",
    ] {
        assert!(issuers.contains(url), "{url} not configured: {issuers}");
    }
    let bundle: Value = client
        .get(format!("{base}/api/v2/trustBundle"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let root = std::fs::read_to_string(keys.join("ca.crt.pem")).unwrap();
    assert_eq!(
        bundle["chains"][0]["certificates"][0]
            .as_str()
            .map(str::trim),
        Some(root.trim())
    );
}
