//! Unit tests of the plan: validation, rendering (parsed back by a YAML parser, run by `sh`),
//! and the staged write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::key::KeyAlgorithm;
use crate::root_ca::RootCa;

use super::render::{sh, yaml};
use super::spec::{ClusterPlan, Listen, MemberSpec, UserSpec, socket};
use super::write::mode_of;

fn plan() -> ClusterPlan {
    ClusterPlan::new(vec![
        MemberSpec::new("node1", "192.168.10.11".parse().unwrap()),
        MemberSpec::new("node2", "fd00::12".parse().unwrap()),
    ])
    .user("alice")
}

/// The TOML decoder's words for why `text` is not a plan: the cause of the error.
fn toml_refusal(text: &str) -> String {
    let e = ClusterPlan::from_toml(text).unwrap_err();
    assert!(matches!(e, Error::InvalidPlan { .. }), "{e}");
    std::error::Error::source(&e)
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[test]
fn bad_plans_are_refused() {
    let e = toml_refusal("[[member]]\nname = \"a\"\n");
    assert!(
        e.contains("missing field `ips`") && e.contains("line 1"),
        "{e}"
    );
    let e = toml_refusal("colour = 1\n[[member]]\nname = \"a\"\nips = []\n");
    assert!(e.contains("unknown field `colour`"), "{e}");
    let e = toml_refusal("key_algorithm = \"dsa\"\n");
    assert!(e.contains("choose one of"), "{e}");
    let mut p = plan();
    p.members[1].name = "node1".into();
    assert!(p.check().unwrap_err().to_string().contains("used twice"));
    let mut p = plan();
    p.members[0].name = "../etc".into();
    assert!(matches!(p.check(), Err(Error::InvalidPlan { .. })));
}

#[test]
fn a_loaded_ca_key_is_not_copied() {
    let mut p = plan();
    p.key_algorithm = KeyAlgorithm::EcdsaP256;
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = p.issue_with(ca).unwrap().write(dir.path()).unwrap();
    assert!(
        !written.iter().any(|f| f.ends_with("root.key")),
        "{written:?}"
    );
    assert!(dir.path().join("ca/root.cert").exists());
    // Writing again refuses, naming a file, and changes nothing.
    let err = p.issue().unwrap().write(dir.path()).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert!(!dir.path().join("ca/root.key").exists());
}

/// A fast plan (ECDSA keys) with the values given.
fn fast(mut p: ClusterPlan) -> ClusterPlan {
    p.key_algorithm = KeyAlgorithm::EcdsaP256;
    p
}

fn refused(p: &ClusterPlan, what: &str) -> String {
    match p.check() {
        Err(Error::InvalidPlan { reason, .. }) => reason,
        Err(e) => panic!("{what}: wrong error {e}"),
        Ok(()) => panic!("{what}: accepted"),
    }
}

#[test]
fn member_ids_must_be_what_etcdctl_accepts() {
    for bad in [
        "8e9e05c52164694d; touch /tmp/x",
        "$(touch /tmp/x)",
        "`id`",
        "",
        "8e9e05c52164694d0",
        "0x8e9e",
        "8e9e 05",
        "8e9e\n",
        "'8e9e'",
    ] {
        let mut p = plan();
        p.members[0].id = Some(bad.into());
        let reason = refused(&p, bad);
        assert!(
            reason.contains("1 to 16 hexadecimal digits"),
            "{bad}: {reason}"
        );
    }
    let mut p = plan();
    p.members[0].id = Some("8E9E05C52164694D".into());
    p.members[1].id = Some("8e9e05c52164694d".into());
    assert!(refused(&p, "same id").contains("twice"));
    p.members[1].id = Some("1".into());
    p.check().unwrap();
}

#[test]
fn values_with_control_characters_are_refused() {
    // C0, DEL, C1 (NEL), the YAML 1.1 line and paragraph separators, a byte order mark, bidi
    // overrides: any of them breaks or disguises a YAML or shell file.
    for bad in [
        "\n",
        "\r",
        "\t",
        "\0",
        "\u{1b}[2J",
        "\u{7f}",
        "\u{85}",
        "\u{9b}",
        "\u{2028}",
        "\u{2029}",
        "\u{feff}",
        "\u{202e}",
        "\u{ffff}",
    ] {
        let value = format!("/srv/a{bad}b");
        type Set = fn(&mut ClusterPlan, String);
        let set: [(&str, Set); 4] = [
            ("token", |p, v| p.token = v),
            ("data_dir", |p, v| p.data_dir = Some(v)),
            ("cert_dir", |p, v| p.cert_dir = Some(v)),
            ("client_dir", |p, v| p.client_dir = Some(v)),
        ];
        for (field, f) in set {
            let mut p = plan();
            f(&mut p, value.clone());
            let reason = refused(&p, &format!("{field} {value:?}"));
            assert!(reason.contains(field), "{field}: {reason}");
        }
    }
}

#[test]
fn empty_and_relative_values_are_refused() {
    let mut p = plan();
    p.token = String::new();
    assert!(refused(&p, "empty token").contains("token"));
    let mut p = plan();
    p.data_dir = Some(String::new());
    assert!(refused(&p, "empty data_dir").contains("data_dir"));
    let mut p = plan();
    p.cert_dir = Some("pki/{name}".into());
    assert!(refused(&p, "relative cert_dir").contains("absolute"));
    let mut p = plan();
    p.client_dir = Some("it's/{name}".into());
    assert!(refused(&p, "relative client_dir").contains("absolute"));
    // etcdctl.env is also read by systemd's EnvironmentFile=, which has no quote escaping.
    let mut p = plan();
    p.client_dir = Some("/home/it's/{name}".into());
    assert!(refused(&p, "quote in client_dir").contains('\''));
}

/// A YAML mapping parsed by a real YAML parser, as `key path` → string value.
fn parse_yaml(text: &str) -> BTreeMap<String, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(docs.len(), 1);
    let mut out = BTreeMap::new();
    fn walk(prefix: &str, y: &Yaml, out: &mut BTreeMap<String, String>) {
        match y {
            Yaml::Hash(h) => {
                for (k, v) in h {
                    let k = k.as_str().expect("string keys");
                    let path = if prefix.is_empty() {
                        k.to_owned()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            Yaml::String(s) => {
                out.insert(prefix.to_owned(), s.clone());
            }
            Yaml::Boolean(b) => {
                out.insert(prefix.to_owned(), b.to_string());
            }
            other => panic!("{prefix}: unexpected {other:?}"),
        }
    }
    walk("", &docs[0], &mut out);
    out
}

#[test]
fn every_config_value_parses_back_as_planned() {
    let mut p = fast(plan());
    p.members
        .push(MemberSpec::new("node-3_x.y", "10.1.2.3".parse().unwrap()));
    p.members[2].ips.push("10.1.2.4".parse().unwrap());
    p.listen = Listen::MemberIps;
    // Valid but hostile to a careless quoter: quotes, backslashes, `#`, `: `, `$(…)`, non-ASCII.
    p.token = r#"tok'en "x" \n # a: b $(touch /tmp/x) `id` é"#.into();
    p.data_dir = Some("/var/lib/etcd's data/{name} #1".into());
    p.cert_dir = Some(r#"/etc/etcd "pki"/'{name}'\x: y"#.into());
    let bundle = p.issue().unwrap();
    for m in &p.members {
        let y = parse_yaml(&bundle.member_config(&m.name).unwrap());
        let dir = p.cert_dir.as_ref().unwrap().replace("{name}", &m.name);
        let ip0 = m.ips[0];
        let url = |port| format!("https://{}", socket(ip0, port));
        let listen = |port| {
            m.ips
                .iter()
                .map(|ip| format!("https://{}", socket(*ip, port)))
                .collect::<Vec<_>>()
                .join(",")
        };
        let initial = p
            .members
            .iter()
            .map(|o| format!("{}=https://{}", o.name, socket(o.ips[0], p.peer_port)))
            .collect::<Vec<_>>()
            .join(",");
        let mut want: BTreeMap<String, String> = [
            ("name", m.name.clone()),
            (
                "data-dir",
                p.data_dir.as_ref().unwrap().replace("{name}", &m.name),
            ),
            ("listen-peer-urls", listen(p.peer_port)),
            ("listen-client-urls", listen(p.client_port)),
            ("advertise-client-urls", url(p.client_port)),
            ("initial-advertise-peer-urls", url(p.peer_port)),
            ("initial-cluster", initial),
            ("initial-cluster-token", p.token.clone()),
            ("initial-cluster-state", "new".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for s in ["client-transport-security", "peer-transport-security"] {
            want.insert(format!("{s}.cert-file"), format!("{dir}/{ip0}.cert"));
            want.insert(format!("{s}.key-file"), format!("{dir}/{ip0}.key"));
            want.insert(format!("{s}.trusted-ca-file"), format!("{dir}/root.cert"));
            want.insert(format!("{s}.client-cert-auth"), "true".into());
            want.insert(format!("{s}.auto-tls"), "false".into());
        }
        assert_eq!(y, want, "{}", m.name);
    }
}

/// Runs `sh` with `args` and `path_dir` first on `PATH`.
fn sh_run(args: &[&str], path_dir: &Path, envs: &[(&str, &str)]) -> std::process::Output {
    let path = format!(
        "{}:{}",
        path_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::process::Command::new("sh")
        .args(args)
        .env("PATH", path)
        .envs(envs.iter().copied())
        .output()
        .expect("run sh")
}

#[test]
#[cfg(unix)]
fn the_generated_shell_files_run_as_written() {
    use std::os::unix::fs::PermissionsExt;
    let mut p = fast(plan());
    p.members
        .push(MemberSpec::new("node-3_x.y", "10.1.2.3".parse().unwrap()));
    p.members[0].id = Some("8E9E05C52164694D".into());
    // Everything but a single quote (see `check_env_value`) survives `. etcdctl.env`.
    p.client_dir = Some(r#"/srv/a b/$(touch pwned)/`id`/"q"/\/;|&*?/{name}"#.into());
    let bundle = p.issue().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    bundle.write(&out).unwrap();
    let script = out.join("ca/migrate-to-https.sh");
    let script = script.to_str().unwrap();
    let o = sh_run(&["-n", script], tmp.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A stub etcdctl: lists the running members, records every update.
    let stub = tmp.path().join("etcdctl");
    std::fs::write(
        &stub,
        "#!/bin/sh\ncase \"$1 $2\" in\n\
         'member list') printf '%s\\n' \"$STUB_LIST\" ;;\n\
         'member update') printf '%s|%s|%s\\n' \"$3\" \"$4\" \"$ETCDCTL_ENDPOINTS\" >> \"$STUB_LOG\" ;;\n\
         *) echo \"unexpected: $*\" >&2; exit 3 ;;\nesac\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = tmp.path().join("log");
    let list = "aaaa1, started, node-3_x.y-not, http://10.9.9.9:2380, http://10.9.9.9:2379, false\n\
                2b, started, node2, http://[fd00::12]:2380, http://[fd00::12]:2379, false\n\
                3c, started, node-3_x.y, http://10.1.2.3:2380, http://10.1.2.3:2379, false";
    let o = sh_run(
        &[script],
        tmp.path(),
        &[
            ("STUB_LIST", list),
            ("STUB_LOG", log.to_str().unwrap()),
            ("ETCDCTL_ENDPOINTS", ""),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let default = "http://192.168.10.11:2379,http://[fd00::12]:2379,http://10.1.2.3:2379";
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!(
            "8E9E05C52164694D|--peer-urls=https://192.168.10.11:2380|{default}\n\
             2b|--peer-urls=https://[fd00::12]:2380|{default}\n\
             3c|--peer-urls=https://10.1.2.3:2380|{default}\n"
        )
    );
    // A member missing from the running cluster stops the script before any update.
    std::fs::remove_file(&log).unwrap();
    let o = sh_run(
        &[script],
        tmp.path(),
        &[
            ("STUB_LIST", "2b, started, node2, x, y, false"),
            ("STUB_LOG", log.to_str().unwrap()),
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no member named node-3_x.y"));
    assert!(!log.exists() || std::fs::read_to_string(&log).unwrap().lines().count() < 3);
    // etcdctl.env, read by a shell as documented, gives back exactly the planned paths.
    let env = out.join("clients/alice/etcdctl.env");
    let env = env.to_str().unwrap();
    let o = sh_run(&["-n", env], tmp.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = sh_run(
        &[
            "-c",
            "cd \"$(dirname \"$1\")\" && set -a && . ./etcdctl.env && set +a && env",
            "sh",
            env,
        ],
        tmp.path(),
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!tmp.path().join("pwned").exists() && !out.join("clients/alice/pwned").exists());
    let vars: BTreeMap<String, String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ETCDCTL_"))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let dir = p.client_dir.as_ref().unwrap().replace("{name}", "alice");
    let want: BTreeMap<String, String> = [
        ("ETCDCTL_API", "3".to_owned()),
        ("ETCDCTL_CACERT", format!("{dir}/root.cert")),
        ("ETCDCTL_CERT", format!("{dir}/client.cert")),
        ("ETCDCTL_KEY", format!("{dir}/client.key")),
        ("ETCDCTL_ENDPOINTS", p.endpoints()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(vars, want);
}

#[test]
fn plans_that_etcd_would_refuse_or_misserve_are_refused() {
    type Edit = fn(&mut ClusterPlan);
    let cases: [(&str, Edit, &str); 19] = [
        (
            "same IP on two members",
            |p| p.members[1].ips = p.members[0].ips.clone(),
            "listed twice",
        ),
        (
            "an IP listed twice",
            |p| {
                p.listen = Listen::MemberIps;
                let ip = p.members[0].ips[0];
                p.members[0].ips.push(ip);
            },
            "listed twice",
        ),
        (
            "a second IP shared",
            |p| {
                let ip = p.members[0].ips[0];
                p.members[1].ips.push(ip);
            },
            "listed twice",
        ),
        (
            "IPv4-mapped duplicate",
            |p| p.members[1].ips = vec!["::ffff:192.168.10.11".parse().unwrap()],
            "IPv4-mapped",
        ),
        ("client port 0", |p| p.client_port = 0, "client_port is 0"),
        ("peer port 0", |p| p.peer_port = 0, "peer_port is 0"),
        ("same ports", |p| p.peer_port = p.client_port, "must differ"),
        (
            "unspecified IP",
            |p| p.members[0].ips = vec!["0.0.0.0".parse().unwrap()],
            "unspecified",
        ),
        (
            "unspecified IPv6",
            |p| p.members[1].ips.push("::".parse().unwrap()),
            "unspecified",
        ),
        (
            "multicast IP",
            |p| p.members[0].ips = vec!["224.0.0.1".parse().unwrap()],
            "multicast",
        ),
        (
            "broadcast IP",
            |p| p.members[0].ips = vec!["255.255.255.255".parse().unwrap()],
            "broadcast",
        ),
        (
            "member names equal ignoring case",
            |p| p.members[1].name = "NODE1".into(),
            "used twice",
        ),
        (
            "user names equal ignoring case",
            |p| {
                p.users.push(UserSpec {
                    name: "Alice".into(),
                });
            },
            "listed twice",
        ),
        (
            "user listed twice",
            |p| {
                p.users.push(UserSpec {
                    name: "alice".into(),
                });
            },
            "listed twice",
        ),
        (
            "DNS name shared",
            |p| {
                p.members[0].dns = vec!["etcd.example.com".into()];
                p.members[1].dns = vec!["ETCD.example.com".into()];
            },
            "listed twice",
        ),
        (
            "member name with a slash",
            |p| p.members[0].name = "a/b".into(),
            "member name",
        ),
        (
            "member name ..",
            |p| p.members[0].name = "..".into(),
            "member name",
        ),
        (
            "empty user name",
            |p| p.users[0].name = String::new(),
            "user name",
        ),
        (
            "user name with a comma",
            |p| p.users[0].name = "a,b".into(),
            "user name",
        ),
    ];
    for (what, edit, expect) in cases {
        let mut p = plan();
        edit(&mut p);
        let reason = match p.check() {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{what}: accepted"),
        };
        assert!(reason.contains(expect), "{what}: {reason}");
    }
    // Not refused: a member with several addresses of its own and DNS names.
    let mut p = plan();
    p.listen = Listen::MemberIps;
    p.members[0].ips.push("10.0.0.1".parse().unwrap());
    p.members[0].dns = vec!["a.example.com".into(), "b.example.com".into()];
    p.check().unwrap();
}

#[test]
#[cfg(unix)]
fn a_non_utf8_output_path_is_refused_before_writing() {
    use std::os::unix::ffi::OsStrExt;
    let bundle = fast(plan()).issue().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join(std::ffi::OsStr::from_bytes(b"out\xff"));
    std::fs::create_dir(&out).unwrap();
    let e = bundle.write(&out).unwrap_err();
    assert!(e.to_string().contains("not valid UTF-8"), "{e}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    // An output path with a line break would break the YAML: refused too.
    let out = tmp.path().join("a\nb");
    std::fs::create_dir(&out).unwrap();
    let e = bundle.write(&out).unwrap_err();
    assert!(e.to_string().contains("U+000A"), "{e}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    // With cert_dir and client_dir set, the output path is not written into any file.
    let mut p = fast(plan());
    p.cert_dir = Some("/etc/etcd/pki".into());
    p.client_dir = Some("/home/{name}/.etcd".into());
    let out = tmp.path().join(std::ffi::OsStr::from_bytes(b"ok\xff"));
    std::fs::create_dir(&out).unwrap();
    p.issue().unwrap().write(&out).unwrap();
}

/// Every path under `dir` with its mode and, for files, contents.
#[cfg(unix)]
fn tree(dir: &Path) -> BTreeMap<PathBuf, (u32, Option<Vec<u8>>)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = std::fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            out.insert(p.clone(), (mode_of(&m), None));
            out.extend(tree(&p));
        } else {
            out.insert(p.clone(), (mode_of(&m), Some(std::fs::read(&p).unwrap())));
        }
    }
    out
}

#[test]
#[cfg(unix)]
fn a_failure_at_any_step_of_a_bundle_write_leaves_the_directory_as_it_was() {
    use std::os::unix::fs::PermissionsExt;
    let bundle = fast(plan().user("bob")).issue().unwrap();
    let mut n = 1;
    loop {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        // members/ exists (each member moved on its own), with an empty members/node1/ (to be
        // replaced); clients/ does not (moved as one).
        std::fs::create_dir_all(out.join("members/node1")).unwrap();
        std::fs::set_permissions(
            out.join("members/node1"),
            std::fs::Permissions::from_mode(0o750),
        )
        .unwrap();
        std::fs::write(out.join("notes"), b"mine").unwrap();
        let before = tree(out);
        let mut step = 0;
        let result = bundle.write_with(out, &mut || {
            step += 1;
            if step == n {
                Err(std::io::Error::other("injected"))
            } else {
                Ok(())
            }
        });
        match result {
            Err(e) => {
                let cause = std::error::Error::source(&e).map(ToString::to_string);
                assert_eq!(cause.as_deref(), Some("injected"), "step {n}: {e}");
                assert_eq!(
                    tree(out).keys().collect::<Vec<_>>(),
                    before.keys().collect::<Vec<_>>(),
                    "step {n}"
                );
                assert_eq!(tree(out), before, "step {n}");
            }
            Ok(written) => {
                assert_eq!(step, n - 1, "every step was failed once");
                assert_eq!(written.len(), 4 + 2 * 4 + 2 * 4);
                assert!(written.iter().all(|p| p.is_file()));
                let names: Vec<_> = std::fs::read_dir(out)
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                assert_eq!(names.len(), 4, "no staging directory left: {names:?}");
                break;
            }
        }
        n += 1;
    }
    assert_eq!(
        n, 5,
        "ca, members/node1, members/node2, clients: four moves"
    );
}

#[test]
fn urls_and_quoting() {
    let p = plan();
    assert_eq!(
        p.endpoints(),
        "https://192.168.10.11:2379,https://[fd00::12]:2379"
    );
    assert_eq!(yaml("it's \"b\""), r#"'it''s "b"'"#);
    assert_eq!(sh("it's"), r"'it'\''s'");
}
