//! The whole etcd set (root CA, client and three nodes, RSA-2048) made by the reference Python
//! script's five commands, by the example CLI's same five commands, by the `etcd_cluster_plan`
//! example, and by the library in process, interleaved run by run, with a table of medians and
//! ratios to the script. See BENCHMARKS.md.
//!
//! `ETCD_PKI_WHOLE_SET=40 ETCD_PKI_REFERENCE_SCRIPT=path/to/gen_etcd_certs.py cargo bench -p
//! etcd-pki-interop --bench issue` (after `cargo build --release --examples`); the script is run
//! by `ETCD_PKI_PYTHON`, default `python3`. Without `ETCD_PKI_WHOLE_SET` (as in
//! `cargo test --benches`) it does nothing.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use etcd_pki::KeyFormat;
use etcd_pki::{ClusterPlan, MemberSpec};

/// The three nodes of the cluster.
const NODES: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(192, 168, 10, 11)),
    IpAddr::V4(Ipv4Addr::new(192, 168, 10, 12)),
    IpAddr::V4(Ipv4Addr::new(192, 168, 10, 13)),
];

/// One way of making the whole set, timed as a whole.
struct Contender {
    name: String,
    run: Box<dyn FnMut(&Path)>,
    samples: Vec<f64>,
}

impl Contender {
    fn median(&self) -> f64 {
        let mut ms = self.samples.clone();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        if n.is_multiple_of(2) {
            (ms[n / 2 - 1] + ms[n / 2]) / 2.0
        } else {
            ms[n / 2]
        }
    }

    fn percentile(&self, percent: usize) -> f64 {
        let mut ms = self.samples.clone();
        ms.sort_by(f64::total_cmp);
        ms[(ms.len() - 1) * percent / 100]
    }
}

/// Runs a command in `dir`, panicking with its output if it fails.
fn run_in(dir: &Path, program: &Path, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The guide's five commands (root, client, three nodes), for a program taking the script's
/// flags; `program` then `prefix` (e.g. the script's path) come before the flags.
fn five_commands(dir: &Path, program: &Path, prefix: &[&str]) {
    std::fs::create_dir(dir.join("certs")).expect("certs dir");
    fn with<'a>(prefix: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
        [prefix, args].concat()
    }
    let ca = ["-k", "certs/root.key", "-t", "certs/root.cert"];
    run_in(
        dir,
        program,
        &with(prefix, &["-c", "gen_root_cert", "-s", "./certs"]),
    );
    run_in(
        dir,
        program,
        &with(
            prefix,
            &[&["-c", "gen_client_cert", "-s", "./certs"][..], &ca].concat(),
        ),
    );
    for ip in NODES {
        let ip = ip.to_string();
        let args = [
            &["-c", "gen_server_cert", "-s", "./certs"][..],
            &ca,
            &["-i", &ip],
        ]
        .concat();
        run_in(dir, program, &with(prefix, &args));
    }
}

/// The plan of the guide's cluster: three members and one client user.
fn guide_plan() -> ClusterPlan {
    let members = NODES
        .iter()
        .enumerate()
        .map(|(i, &ip)| MemberSpec::new(&format!("node{}", i + 1), ip))
        .collect();
    ClusterPlan::new(members).user("client")
}

/// Where `cargo build --release --examples` puts an example, next to this benchmark's binary.
fn example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join(name);
    path.is_file().then_some(path)
}

/// `ETCD_PKI_WHOLE_SET=N`: the whole set N times per contender, interleaved run by run.
fn whole_set(runs: usize) {
    // The interpreter itself, not a wrapper such as pyenv's shim (a shell script that would add
    // tens of milliseconds to each of the script's commands).
    let launcher = std::env::var("ETCD_PKI_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&launcher)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap_or_else(|e| panic!("ETCD_PKI_PYTHON: cannot run {launcher}: {e}"));
    let python = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let script = std::env::var_os("ETCD_PKI_REFERENCE_SCRIPT")
        .map(PathBuf::from)
        .expect("set ETCD_PKI_REFERENCE_SCRIPT to the path of the guide's gen_etcd_certs.py");
    assert!(
        script.is_file(),
        "ETCD_PKI_REFERENCE_SCRIPT: no script at {} (the guide's gen_etcd_certs.py)",
        script.display()
    );
    let script = script.to_str().expect("UTF-8 script path").to_owned();
    let mut contenders = vec![Contender {
        name: format!("`gen_etcd_certs.py`, five commands ({})", python.display()),
        run: Box::new(move |dir| five_commands(dir, &python, &[&script])),
        samples: Vec::new(),
    }];
    match example("gen_etcd_certs") {
        Some(cli) => contenders.push(Contender {
            name: "`gen_etcd_certs` example, the same five commands".into(),
            run: Box::new(move |dir| five_commands(dir, &cli, &[])),
            samples: Vec::new(),
        }),
        None => println!("no gen_etcd_certs example: run `cargo build --release --examples`"),
    }
    match example("etcd_cluster_plan") {
        Some(plan_cli) => {
            let toml =
                std::env::temp_dir().join(format!("etcd-pki-bench-{}.toml", std::process::id()));
            let mut text = String::new();
            for (i, ip) in NODES.iter().enumerate() {
                text += &format!("[[member]]\nname = \"node{}\"\nips = [\"{ip}\"]\n", i + 1);
            }
            text += "[[user]]\nname = \"client\"\n";
            std::fs::write(&toml, text).expect("plan file");
            contenders.push(Contender {
                name: "`etcd_cluster_plan` example (one process, 5 keys as one batch)".into(),
                run: Box::new(move |dir| {
                    let toml = toml.to_str().expect("UTF-8 temp dir");
                    run_in(dir, &plan_cli, &[toml, "-o", "."]);
                }),
                samples: Vec::new(),
            });
        }
        None => println!("no etcd_cluster_plan example: run `cargo build --release --examples`"),
    }
    contenders.push(Contender {
        name: "library: `ClusterPlan::issue`, certificates and keys PEM-encoded".into(),
        run: Box::new(|_| {
            let bundle = guide_plan().issue().expect("issue");
            let ca = bundle.ca().certified_key();
            black_box(ca.certificate().to_pem().expect("pem"));
            black_box(
                ca.private_key()
                    .to_pem(KeyFormat::Traditional)
                    .expect("pem"),
            );
            let names = ["node1", "node2", "node3"].map(|n| bundle.member(n).expect("member"));
            for issued in names.into_iter().chain(bundle.user("client")) {
                black_box(issued.certificate().to_pem().expect("pem"));
                black_box(
                    issued
                        .private_key()
                        .to_pem(KeyFormat::Traditional)
                        .expect("pem"),
                );
            }
        }),
        samples: Vec::new(),
    });
    contenders.push(Contender {
        name: "library: `ClusterPlan::issue` and `ClusterBundle::write` (all files)".into(),
        run: Box::new(|dir| {
            guide_plan()
                .issue()
                .expect("issue")
                .write(dir)
                .expect("write");
        }),
        samples: Vec::new(),
    });
    let root = tempfile::tempdir().expect("temp dir");
    let mut fresh = 0;
    let mut run_once = |contender: &mut Contender| {
        fresh += 1;
        let dir = root.path().join(fresh.to_string());
        std::fs::create_dir(&dir).expect("run dir");
        let t = Instant::now();
        (contender.run)(&dir);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        std::fs::remove_dir_all(&dir).expect("clean up");
        ms
    };
    // One warm-up run each (page cache, Python's bytecode cache).
    for contender in &mut contenders {
        run_once(contender);
    }
    let start = Instant::now();
    for _ in 0..runs {
        for contender in &mut contenders {
            let ms = run_once(contender);
            contender.samples.push(ms);
        }
    }
    println!(
        "\nThe whole etcd set (root, client, 3 nodes; RSA-2048), {runs} runs per contender, \
         interleaved run by run, in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    println!("| contender | runs | median ms | p10 ms | p90 ms | median ÷ script |");
    println!("|---|---|---|---|---|---|");
    let script = contenders[0].median();
    for c in &contenders {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.3} |",
            c.name,
            c.samples.len(),
            c.median(),
            c.percentile(10),
            c.percentile(90),
            c.median() / script
        );
    }
}

fn main() {
    if let Ok(runs) = std::env::var("ETCD_PKI_WHOLE_SET") {
        whole_set(runs.parse().expect("ETCD_PKI_WHOLE_SET: a number of runs"));
        return;
    }
    println!("ETCD_PKI_WHOLE_SET is not set: nothing to measure (see the module docs)");
}
