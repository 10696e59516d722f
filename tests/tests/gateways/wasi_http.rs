//! The wasi:http component (`wasm/wasi-http`) served in-process by wasmtime 48 with
//! `wasmtime-wasi-http`, on 127.0.0.1 like `wasmtime serve -S cli=y`: one fresh
//! instance per inbound request, the configuration in the component's environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use hyper::server::conn::http1;
use sensu_reactio_core::gateway::{GatewayConfig, Reply};
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::support::http_post;
use crate::{Gateway, Inbound};

/// Where `scripts/build-gateways.sh` puts the component.
pub(crate) fn component_path() -> PathBuf {
    crate::support::root().join("wasm/wasi-http/pkg/sensu_reactio_wasi_http.wasm")
}

/// The component's bytes, or an error naming the command that builds it.
pub(crate) fn component_bytes() -> std::io::Result<Vec<u8>> {
    let path = component_path();
    std::fs::read(&path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "the wasi:http component {} is missing ({e}): run `scripts/build-gateways.sh` (or `./x build`)",
                path.display()
            ),
        )
    })
}

struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: Default::default() }
    }
}

struct Server {
    pre: ProxyPre<State>,
    env: Vec<(String, String)>,
}

impl Server {
    async fn handle(
        self: Arc<Self>,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> wasmtime::Result<hyper::Response<HyperOutgoingBody>> {
        let mut wasi = WasiCtx::builder();
        for (name, value) in &self.env {
            wasi.env(name, value);
        }
        let state = State { wasi: wasi.build(), http: WasiHttpCtx::new(), table: ResourceTable::new() };
        let mut store = Store::new(self.pre.engine(), state);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store.data_mut().http().new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        let task = tokio::task::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(store, req, out).await
        });
        match receiver.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let e = match task.await {
                    Ok(Ok(())) => wasmtime::format_err!("the component never set a response"),
                    Ok(Err(e)) => e,
                    Err(e) => e.into(),
                };
                Err(e.context("the component never set a response"))
            }
        }
    }
}

/// The component served on 127.0.0.1 by an in-process wasmtime.
pub(crate) struct WasiHttp {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for WasiHttp {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Compile the component and serve it with `config` in `SENSU_REACTIO_GATEWAY_CONFIG`.
pub(crate) fn start(config: &GatewayConfig) -> std::io::Result<Box<dyn Gateway>> {
    let env = vec![("SENSU_REACTIO_GATEWAY_CONFIG".to_owned(), serde_json::to_string(config)?)];
    Ok(Box::new(serve(env)?))
}

/// The engine and the component, compiled once per test process (slow in debug builds).
fn compiled() -> std::io::Result<(Engine, Component)> {
    static COMPILED: OnceLock<Result<(Engine, Component), String>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        let bytes = component_bytes().map_err(|e| e.to_string())?;
        let engine = Engine::new(&Config::new()).map_err(|e| format!("{e:#}"))?;
        let component = Component::new(&engine, &bytes).map_err(|e| format!("{e:#}"))?;
        Ok((engine, component))
    });
    compiled.clone().map_err(std::io::Error::other)
}

/// Serve the component with these environment variables.
pub(crate) fn serve(env: Vec<(String, String)>) -> std::io::Result<WasiHttp> {
    let io = |e: wasmtime::Error| std::io::Error::other(format!("{e:#}"));
    let (engine, component) = compiled()?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(io)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(io)?;
    let pre = ProxyPre::new(linker.instantiate_pre(&component).map_err(io)?).map_err(io)?;
    let server = Arc::new(Server { pre, env });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    runtime.spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = Arc::clone(&server);
            tokio::task::spawn(async move {
                let service = hyper::service::service_fn(move |req| Arc::clone(&server).handle(req));
                let _ = http1::Builder::new().serve_connection(TokioIo::new(client), service).await;
            });
        }
    });
    Ok(WasiHttp { addr, runtime: Some(runtime) })
}

impl WasiHttp {
    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Gateway for WasiHttp {
    fn name(&self) -> &'static str {
        "wasi-http"
    }

    fn post(&mut self, inbound: &Inbound) -> Reply {
        http_post(self.addr, inbound).unwrap_or_else(|e| panic!("wasi-http: posting to the component failed: {e}"))
    }
}

/// The component's own checks: it exports only the proxy world's handler, its size
/// is within budget and goal, and a missing configuration is a clear 500.
mod own {
    use super::*;
    use crate::support::{post, standin};

    #[test]
    fn the_component_fits_the_size_budget_and_goal() {
        let bytes = component_bytes().unwrap_or_else(|e| panic!("{e}"));
        eprintln!("wasi-http component: {} bytes", bytes.len());
        assert!(
            bytes.len() as u64 <= crate::support::ADAPTER_BUDGET,
            "the wasi:http component has {} bytes; the budget for a gateway adapter is {} (decisions.md)",
            bytes.len(),
            crate::support::ADAPTER_BUDGET
        );
        assert!(
            bytes.len() as u64 <= crate::support::ADAPTER_GOAL,
            "the wasi:http component has {} bytes, over the adapters' goal of {} (decisions.md, Budgets), which it \
             met and is held to: find room first (BENCHMARKS.md, Sizes, and scripts/build-gateways.sh say what was cut)",
            bytes.len(),
            crate::support::ADAPTER_GOAL
        );
    }

    #[test]
    fn without_its_configuration_it_answers_500_saying_what_to_set() {
        let host = serve(Vec::new()).unwrap_or_else(|e| panic!("{e}"));
        let server = standin();
        let reply = http_post(host.addr(), &post(b"{}")).unwrap();
        assert_eq!(reply.status, 500, "{reply:?}");
        assert!(reply.body.contains("SENSU_REACTIO_GATEWAY_CONFIG is not set"), "{}", reply.body);
        assert!(server.requests().is_empty());
    }

    #[test]
    fn the_api_key_may_come_from_its_own_environment() {
        let server = standin();
        let mut config = crate::support::gateway_config(&server);
        config.config.env.clear();
        let env = vec![
            ("SENSU_REACTIO_GATEWAY_CONFIG".to_owned(), serde_json::to_string(&config).unwrap()),
            ("REACTIO_API_KEY".to_owned(), crate::support::KEY.to_owned()),
        ];
        let host = serve(env).unwrap_or_else(|e| panic!("{e}"));
        let reply = http_post(host.addr(), &post(&crate::support::first_critical())).unwrap();
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(server.incidents().len(), 1);
        for request in server.requests() {
            assert_eq!(request.header("x-api-key"), Some(crate::support::KEY), "{}", request.line());
            assert_eq!(request.header("content-length"), Some(request.body.len().to_string().as_str()));
            assert!(!request.chunked, "{}", request.line());
        }
    }
}
