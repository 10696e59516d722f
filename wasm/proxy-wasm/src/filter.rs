//! The proxy-wasm callbacks (wasm32 only): configuration in `on_configure`, admission
//! on request headers, the event at the end of the body, each Reactio request as a
//! `dispatch_http_call` through the configured cluster, the reply by
//! `send_http_response`. Everything else is in `glue.rs`.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use sensu_reactio_core::gateway::Reply;

use crate::glue::{self, Exchange, Next, Plugin};

// Talc instead of std's dlmalloc, as in the raw module: the same `GlobalAlloc`
// contract (freed memory is reused and coalesced, so a long-lived filter does not
// grow), less code. The SDK's `proxy_on_memory_allocate` allocates through it too.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { plugin: Rc::new(Err(not_configured())) }) });
}}

fn not_configured() -> Reply {
    sensu_reactio_core::gateway::error_reply(
        500,
        "config",
        "the filter was not configured yet; check envoy's log for the filter's configuration error",
    )
}

fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

/// The plugin: its configuration, shared by every request's context.
struct Root {
    plugin: Rc<Result<Plugin, Reply>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let plugin = glue::load_plugin(self.get_plugin_configuration().as_deref());
        if let Err(reply) = &plugin {
            // The reply body is the message every request will get; it holds no secret.
            log(LogLevel::Error, &reply.body);
        }
        self.plugin = Rc::new(plugin);
        // Keep the filter loaded either way: each request then gets the 500 that says why.
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Webhook { plugin: Rc::clone(&self.plugin), authorization: None, exchange: None, done: false }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One inbound request.
struct Webhook {
    plugin: Rc<Result<Plugin, Reply>>,
    authorization: Option<String>,
    exchange: Option<Exchange>,
    done: bool,
}

impl Webhook {
    fn reply(&mut self, reply: &Reply) -> Action {
        self.done = true;
        self.exchange = None;
        let _ = hostcalls::send_http_response(
            u32::from(reply.status),
            glue::reply_headers(reply),
            Some(reply.body.as_bytes()),
        );
        Action::Pause
    }

    /// Act on the exchange's next step: dispatch the call through the cluster, or
    /// answer the caller.
    fn go(&mut self) -> Action {
        let Some(exchange) = self.exchange.as_ref() else { return self.reply(&glue::lost_step()) };
        let request = match exchange.next() {
            Next::Call(request) => request,
            Next::Reply(reply) => {
                if reply.status != 200 {
                    log(LogLevel::Warn, &format!("{} {}", reply.status, reply.body));
                }
                return self.reply(&reply);
            }
        };
        let Ok(plugin) = self.plugin.as_ref() else { return self.reply(&not_configured()) };
        let body = (!request.body.is_empty()).then_some(request.body.as_bytes());
        let sent = self.dispatch_http_call(
            &plugin.cluster,
            glue::call_headers(request),
            body,
            Vec::new(),
            glue::call_timeout(request),
        );
        match sent {
            Ok(_token) => Action::Pause,
            Err(status) => {
                let refused = glue::dispatch_refused(&plugin.cluster, &format!("{status:?}"));
                self.reply(&refused)
            }
        }
    }

    fn start(&mut self, body: &[u8]) -> Action {
        let Ok(plugin) = self.plugin.as_ref() else { return self.reply(&not_configured()) };
        let now = glue::epoch_seconds(self.get_current_time());
        match Exchange::start(plugin, body, now) {
            Ok(exchange) => {
                self.exchange = Some(exchange);
                self.go()
            }
            Err(reply) => self.reply(&reply),
        }
    }
}

impl Context for Webhook {
    fn on_http_call_response(&mut self, _token: u32, _headers: usize, body_size: usize, _trailers: usize) {
        let headers = self.get_http_call_response_headers();
        let body = self.get_http_call_response_body(0, body_size).unwrap_or_default();
        let Some(exchange) = self.exchange.as_mut() else { return };
        exchange.answer(glue::call_answer(headers, &body));
        self.go();
    }
}

impl HttpContext for Webhook {
    fn on_http_request_headers(&mut self, _headers: usize, end_of_stream: bool) -> Action {
        let method = self.get_http_request_header(":method").unwrap_or_default();
        let authorization = self.get_http_request_header("authorization");
        let length = self.get_http_request_header("content-length");
        if let Err(reply) = glue::admit_headers(&self.plugin, &method, authorization.as_deref(), length.as_deref()) {
            return self.reply(&reply);
        }
        self.authorization = authorization;
        if end_of_stream {
            return self.start(&[]);
        }
        if matches!(self.plugin.as_ref(), Ok(p) if p.continue_on_headers) {
            // Hosts without `allow_on_headers_stop_iteration` (Istio): the headers go on
            // to the route's upstream, so the token must not go with them.
            self.set_http_request_header("authorization", None);
            return Action::Continue;
        }
        Action::Pause
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.done {
            return Action::Pause;
        }
        let Ok(plugin) = self.plugin.as_ref() else { return self.reply(&not_configured()) };
        if let Err(reply) = glue::admit_body(plugin, self.authorization.as_deref(), body_size) {
            return self.reply(&reply);
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        self.start(&body)
    }

    /// With `continue_on_headers` the request's headers went on to the route's upstream,
    /// whose answer would reach the sender first and end the stream, the event
    /// undelivered (a static file server answering 200 said "done"): its answer is held
    /// until the filter has sent its own.
    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if self.done { Action::Continue } else { Action::Pause }
    }
}
