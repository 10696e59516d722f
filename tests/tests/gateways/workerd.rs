//! The JS edge module (`wasm/js/edge/`) in Cloudflare's `workerd` from npm: a capnp
//! config with the worker (ES modules + the wasm module), the gateway configuration as
//! a text binding, a socket on 127.0.0.1 and a network service allowing loopback so
//! `fetch` reaches the stand-in.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sensu_reactio_core::gateway::{GatewayConfig, Reply};

use crate::support::{free_port, http_post, root, scratch, wait_listening};
use crate::{Gateway, Inbound};

/// The workerd binary from npm (`wasm/js/node_modules`), or an error naming the fix.
pub(crate) fn workerd_bin() -> std::io::Result<PathBuf> {
    let bin = root().join("wasm/js/node_modules/.bin/workerd");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "workerd is not installed ({} is missing): run `npm ci --prefix wasm/js` (or `./x setup`)",
                bin.display()
            ),
        ))
    }
}

/// The edge module's files, as the worker loads them.
pub(crate) const FILES: [&str; 4] =
    ["worker.js", "handle.js", "pkg/sensu_reactio_edge.js", "pkg/sensu_reactio_edge_bg.wasm"];

fn copy_worker(to: &Path) -> std::io::Result<()> {
    let edge = root().join("wasm/js/edge");
    std::fs::create_dir_all(to.join("pkg"))?;
    for file in FILES {
        std::fs::copy(edge.join(file), to.join(file)).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("the edge module's {file} is missing ({e}): run `scripts/build-gateways.sh` (or `./x build`)"),
            )
        })?;
    }
    Ok(())
}

/// The capnp config: what `wasm/js/edge/workerd.capnp` shows, with a port.
fn capnp(port: u16) -> String {
    format!(
        r#"using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .gateway),
    (name = "reactio", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:{port}", http = (), service = "main")],
);

const gateway :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "handle.js", esModule = embed "handle.js"),
    (name = "pkg/sensu_reactio_edge.js", esModule = embed "pkg/sensu_reactio_edge.js"),
    (name = "pkg/sensu_reactio_edge_bg.wasm", wasm = embed "pkg/sensu_reactio_edge_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  bindings = [(name = "SENSU_REACTIO_GATEWAY_CONFIG", text = embed "gateway.json")],
  globalOutbound = "reactio",
);
"#
    )
}

/// workerd serving the edge module on 127.0.0.1; killed when dropped (its scratch directory goes with it).
pub(crate) struct Workerd {
    addr: SocketAddr,
    child: Child,
    dir: sensu_reactio_tests::process::Scratch,
}

impl Drop for Workerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start workerd with `config` as the text binding.
pub(crate) fn start(config: &GatewayConfig) -> std::io::Result<Box<dyn Gateway>> {
    let bin = workerd_bin()?;
    // The port is free when chosen, but workerd binds it later: another listener (a
    // stand-in of a test running beside this one) can take it first. workerd then exits
    // (`bind(): Address already in use`) while the other listener answers in its place;
    // so a workerd that does not stay up is started again on another port.
    for _ in 0..5 {
        let dir = scratch("workerd");
        copy_worker(&dir)?;
        std::fs::write(dir.join("gateway.json"), serde_json::to_string(config)?)?;
        let port = free_port();
        std::fs::write(dir.join("config.capnp"), capnp(port))?;
        let child = Command::new(&bin)
            .arg("serve")
            .arg(dir.join("config.capnp"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("workerd.log"))?)
            .spawn()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut host = Workerd { addr, child, dir };
        if !wait_listening(addr, Duration::from_secs(20)) {
            let log = std::fs::read_to_string(host.dir.join("workerd.log")).unwrap_or_default();
            let _ = host.child.kill();
            return Err(std::io::Error::other(format!("workerd did not listen on {addr} within 20 s: {log}")));
        }
        if stays_up(&mut host.child, Duration::from_millis(300)) {
            return Ok(Box::new(host));
        }
    }
    Err(std::io::Error::other("workerd could not keep a port of its own in 5 tries"))
}

/// Whether `child` is still running after `grace`.
fn stays_up(child: &mut Child, grace: Duration) -> bool {
    let until = std::time::Instant::now() + grace;
    while std::time::Instant::now() < until {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

impl Gateway for Workerd {
    fn name(&self) -> &'static str {
        "workerd"
    }

    fn post(&mut self, inbound: &Inbound) -> Reply {
        http_post(self.addr, inbound).unwrap_or_else(|e| {
            let log = std::fs::read_to_string(self.dir.join("workerd.log")).unwrap_or_default();
            panic!("workerd: posting to the worker failed: {e}\n{log}")
        })
    }
}

/// The edge module's size against decisions.md's budget for a gateway adapter and its goal.
#[test]
fn the_edge_module_fits_the_size_budget_and_goal() {
    let path = root().join("wasm/js/edge/pkg/sensu_reactio_edge_bg.wasm");
    let size = std::fs::metadata(&path)
        .unwrap_or_else(|e| {
            panic!("{} is missing ({e}): run `scripts/build-gateways.sh` (or `./x build`)", path.display())
        })
        .len();
    eprintln!("JS edge module: {size} bytes");
    assert!(
        size <= crate::support::ADAPTER_BUDGET,
        "the JS edge module has {size} bytes; the budget for a gateway adapter is {} (decisions.md)",
        crate::support::ADAPTER_BUDGET
    );
    assert!(
        size <= crate::support::ADAPTER_GOAL,
        "the JS edge module has {size} bytes, over the adapters' goal of {} (decisions.md), which it met and is \
         held to: find room first (BENCHMARKS.md, Sizes)",
        crate::support::ADAPTER_GOAL
    );
}
