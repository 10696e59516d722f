//! The `wasi:http/proxy` export: incoming request in, the core's requests out through
//! `wasi:http/outgoing-handler`, one answer back. Host glue only; see [`crate::driver`].

use wasip2::clocks::{monotonic_clock, wall_clock};
use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    RequestOptions, ResponseOutparam, Scheme,
};
use wasip2::io::poll;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

use sensu_reactio_core::TrimWs;
use sensu_reactio_core::gateway::{MAX_BODY, Reply, error_reply};
use sensu_reactio_core::step::{Answer, Failure, FailureKind, Request, Response};

use crate::driver::{self, CONFIG_VAR, Inbound, Next};

struct Component;

wasip2::http::proxy::export!(Component);

impl Guest for Component {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let reply = serve(&request);
        respond(out, &reply);
    }
}

fn serve(request: &IncomingRequest) -> Reply {
    let vars = wasip2::cli::environment::get_environment();
    let text = vars.iter().find(|(name, _)| name == CONFIG_VAR).map(|(_, value)| value.as_str());
    let config = match driver::load_config(text, vars.iter().map(|(n, v)| (n.as_str(), v.as_str()))) {
        Ok(config) => config,
        Err(reply) => return reply,
    };
    let method = request.method();
    let headers = request.headers();
    let authorization = first_header(&headers, "authorization");
    // The core's `parse_u64`, not `str::parse::<usize>` (an instance of its own, ~0.5 KB).
    let announced = first_header(&headers, "content-length")
        .and_then(|v| sensu_reactio_core::text::parse_u64(v.trim_ws()))
        .and_then(|n| usize::try_from(n).ok());
    drop(headers);
    // Refuse before reading a body that is too large (or not wanted at all).
    let probe = Inbound { method: method_name(&method), authorization: authorization.as_deref(), body: &[] };
    if let Err(reply) =
        sensu_reactio_core::gateway::admit(&config, probe.method, probe.authorization, announced.unwrap_or(0))
    {
        return reply;
    }
    let body = match read_inbound(request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let inbound = Inbound { body: &body, ..probe };
    let now = i64::try_from(wall_clock::now().seconds).unwrap_or(i64::MAX);
    let (mut driver, mut next) = driver::start(&config, &inbound, now);
    loop {
        match (next, driver.as_mut()) {
            (Next::Reply(reply), _) => return reply,
            (Next::Send(request), Some(d)) => next = d.answer(send(&request)),
            (Next::Send(_), None) => {
                return error_reply(500, "internal", "the gateway lost its event; report this bug");
            }
        }
    }
}

fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    }
}

fn first_header(fields: &Fields, name: &str) -> Option<String> {
    fields.get(name).first().map(|v| sensu_reactio_core::step::lossy(v))
}

/// The inbound body, at most `MAX_BODY + 1` bytes (enough for `admit` to refuse it).
fn read_inbound(request: &IncomingRequest) -> Result<Vec<u8>, Reply> {
    let unreadable =
        || error_reply(400, "input", "the request body could not be read; send the event as the body of one post");
    let body = request.consume().map_err(|()| unreadable())?;
    let stream = body.stream().map_err(|()| unreadable())?;
    let read = read_stream(&stream, MAX_BODY + 1, None).map_err(|_| unreadable());
    drop(stream);
    drop(IncomingBody::finish(body));
    read
}

/// Why reading a stream stopped early.
enum ReadError {
    TimedOut,
    Failed(String),
}

/// Read until the end, `cap` bytes, or the deadline (monotonic nanoseconds).
fn read_stream(stream: &InputStream, cap: usize, deadline: Option<u64>) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    while bytes.len() < cap {
        match stream.read(64 * 1024) {
            Ok(chunk) if chunk.is_empty() => wait_for(&stream.subscribe(), deadline)?,
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(ReadError::Failed(e.to_debug_string())),
        }
    }
    bytes.truncate(cap);
    Ok(bytes)
}

/// Block until `ready` is ready, or fail at the deadline.
fn wait_for(ready: &poll::Pollable, deadline: Option<u64>) -> Result<(), ReadError> {
    let Some(deadline) = deadline else {
        ready.block();
        return Ok(());
    };
    let timer = monotonic_clock::subscribe_instant(deadline);
    let woke = poll::poll(&[ready, &timer]);
    // A loop, not `contains(&0)`: its generic slice search is ~100 bytes more here.
    for &index in &woke {
        if index == 0 {
            return Ok(());
        }
    }
    Err(ReadError::TimedOut)
}

/// Send one of the core's requests; the answer (or the failure) as a value.
fn send(request: &Request) -> Answer {
    let deadline = monotonic_clock::now().saturating_add(request.timeout_ms.saturating_mul(1_000_000));
    match try_send(request, deadline) {
        Ok(answer) => answer,
        Err(failure) => Answer::Failure(failure),
    }
}

fn failure(kind: FailureKind, detail: impl Into<String>) -> Failure {
    Failure { kind, detail: detail.into() }
}

fn timed_out(request: &Request) -> Failure {
    failure(FailureKind::Timeout, format!("no complete answer within {} ms", request.timeout_ms))
}

fn try_send(request: &Request, deadline: u64) -> Result<Answer, Failure> {
    let refused = |what: &str| failure(FailureKind::Refused, format!("the host refused the request's {what}"));
    // Always announce the length: without it wasmtime sends the body chunked.
    let headers =
        Fields::from_list(&header_list(&request.headers, request.body.len())).map_err(|_| refused("headers"))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        other => Method::Other(other.to_owned()),
    };
    outgoing.set_method(&method).map_err(|()| refused("method"))?;
    let scheme = match request.scheme.as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    outgoing.set_scheme(Some(&scheme)).map_err(|()| refused("scheme"))?;
    outgoing.set_authority(Some(&request.authority)).map_err(|()| refused("authority"))?;
    outgoing.set_path_with_query(Some(&request.path)).map_err(|()| refused("path"))?;
    let body = outgoing.body().map_err(|()| refused("body"))?;
    let options = RequestOptions::new();
    let timeout = Some(request.timeout_ms.saturating_mul(1_000_000));
    // Hosts may not support every timeout; the deadline below holds regardless.
    let _ = options.set_connect_timeout(timeout);
    let _ = options.set_first_byte_timeout(timeout);
    let _ = options.set_between_bytes_timeout(timeout);
    let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(|e| from_code(&e))?;
    {
        let stream = body.write().map_err(|()| refused("body"))?;
        write_all(&stream, request.body.as_bytes()).map_err(|e| failure(FailureKind::Reset, e))?;
    }
    OutgoingBody::finish(body, None).map_err(|e| from_code(&e))?;
    wait_for(&pending.subscribe(), Some(deadline)).map_err(|_| timed_out(request))?;
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(from_code(&e)),
        Some(Err(())) | None => return Err(failure(FailureKind::Other, "the host lost the answer")),
    };
    let status = response.status();
    let headers: Vec<(String, String)> =
        response.headers().entries().into_iter().map(|(n, v)| (n, sensu_reactio_core::step::lossy(&v))).collect();
    let incoming = response.consume().map_err(|()| failure(FailureKind::Other, "the answer's body was taken"))?;
    let stream = incoming.stream().map_err(|()| failure(FailureKind::Other, "the answer's body was taken"))?;
    let read = read_stream(&stream, usize::MAX, Some(deadline));
    drop(stream);
    drop(IncomingBody::finish(incoming));
    match read {
        Ok(bytes) => Ok(Answer::Response(Response::from_bytes(status, headers, &bytes))),
        Err(ReadError::TimedOut) => Err(timed_out(request)),
        Err(ReadError::Failed(detail)) => Err(failure(FailureKind::Reset, detail)),
    }
}

/// `headers` as `Fields::from_list` takes them, and `content-length` for a body of
/// `len` bytes (written by the core's `push_u64`, not `ToString`: an instance of its own).
fn header_list(headers: &[(String, String)], len: usize) -> Vec<(String, Vec<u8>)> {
    let mut list: Vec<(String, Vec<u8>)> = headers.iter().map(|(n, v)| (n.clone(), v.clone().into_bytes())).collect();
    let mut value = String::new();
    sensu_reactio_core::text::push_u64(&mut value, u64::try_from(len).unwrap_or(u64::MAX), 1);
    list.push(("content-length".into(), value.into_bytes()));
    list
}

/// Write everything (blocking_write_and_flush takes at most 4096 bytes a call).
fn write_all(stream: &OutputStream, mut bytes: &[u8]) -> Result<(), String> {
    while !bytes.is_empty() {
        let (now, rest) = bytes.split_at(bytes.len().min(4096));
        stream.blocking_write_and_flush(now).map_err(|e| write_failed(&e))?;
        bytes = rest;
    }
    Ok(())
}

/// A failed write's detail: the error's Debug text lowercased, as it always was
/// (`Error`'s derived Debug shows only its resource handle), written out here: the
/// bindings' derived Debug and its lowercasing are larger.
fn write_failed(error: &StreamError) -> String {
    match error {
        StreamError::Closed => "writing the body failed: streamerror::closed".to_owned(),
        StreamError::LastOperationFailed(e) => format!(
            "writing the body failed: streamerror::lastoperationfailed(error {{ handle: resource {{ handle: {} }} }})",
            e.handle()
        ),
    }
}

fn from_code(code: &ErrorCode) -> Failure {
    let (kind, name) = code_kind_and_name(code);
    failure(kind, format!("wasi:http: errorcode::{name}"))
}

/// The failure kind of a code, and its variant name lowercased: what its Debug text
/// gave up to the payload, without the derived Debug of every payload. One match for
/// both (two matches over the same variants are larger).
fn code_kind_and_name(code: &ErrorCode) -> (FailureKind, &'static str) {
    use FailureKind::{Connect, Other, Refused, Reset, Timeout, Tls};
    match code {
        ErrorCode::DnsTimeout => (Connect, "dnstimeout"),
        ErrorCode::DnsError(_) => (Connect, "dnserror"),
        ErrorCode::DestinationNotFound => (Connect, "destinationnotfound"),
        ErrorCode::DestinationUnavailable => (Connect, "destinationunavailable"),
        ErrorCode::DestinationIpProhibited => (Connect, "destinationipprohibited"),
        ErrorCode::DestinationIpUnroutable => (Connect, "destinationipunroutable"),
        ErrorCode::ConnectionRefused => (Connect, "connectionrefused"),
        ErrorCode::ConnectionTerminated => (Reset, "connectionterminated"),
        ErrorCode::ConnectionTimeout => (Timeout, "connectiontimeout"),
        ErrorCode::ConnectionReadTimeout => (Timeout, "connectionreadtimeout"),
        ErrorCode::ConnectionWriteTimeout => (Timeout, "connectionwritetimeout"),
        ErrorCode::ConnectionLimitReached => (Reset, "connectionlimitreached"),
        ErrorCode::TlsProtocolError => (Tls, "tlsprotocolerror"),
        ErrorCode::TlsCertificateError => (Tls, "tlscertificateerror"),
        ErrorCode::TlsAlertReceived(_) => (Tls, "tlsalertreceived"),
        ErrorCode::HttpRequestDenied => (Refused, "httprequestdenied"),
        ErrorCode::HttpRequestLengthRequired => (Other, "httprequestlengthrequired"),
        ErrorCode::HttpRequestBodySize(_) => (Other, "httprequestbodysize"),
        ErrorCode::HttpRequestMethodInvalid => (Other, "httprequestmethodinvalid"),
        ErrorCode::HttpRequestUriInvalid => (Other, "httprequesturiinvalid"),
        ErrorCode::HttpRequestUriTooLong => (Other, "httprequesturitoolong"),
        ErrorCode::HttpRequestHeaderSectionSize(_) => (Other, "httprequestheadersectionsize"),
        ErrorCode::HttpRequestHeaderSize(_) => (Other, "httprequestheadersize"),
        ErrorCode::HttpRequestTrailerSectionSize(_) => (Other, "httprequesttrailersectionsize"),
        ErrorCode::HttpRequestTrailerSize(_) => (Other, "httprequesttrailersize"),
        ErrorCode::HttpResponseIncomplete => (Other, "httpresponseincomplete"),
        ErrorCode::HttpResponseHeaderSectionSize(_) => (Other, "httpresponseheadersectionsize"),
        ErrorCode::HttpResponseHeaderSize(_) => (Other, "httpresponseheadersize"),
        ErrorCode::HttpResponseBodySize(_) => (Other, "httpresponsebodysize"),
        ErrorCode::HttpResponseTrailerSectionSize(_) => (Other, "httpresponsetrailersectionsize"),
        ErrorCode::HttpResponseTrailerSize(_) => (Other, "httpresponsetrailersize"),
        ErrorCode::HttpResponseTransferCoding(_) => (Other, "httpresponsetransfercoding"),
        ErrorCode::HttpResponseContentCoding(_) => (Other, "httpresponsecontentcoding"),
        ErrorCode::HttpResponseTimeout => (Timeout, "httpresponsetimeout"),
        ErrorCode::HttpUpgradeFailed => (Other, "httpupgradefailed"),
        ErrorCode::HttpProtocolError => (Other, "httpprotocolerror"),
        ErrorCode::LoopDetected => (Other, "loopdetected"),
        ErrorCode::ConfigurationError => (Other, "configurationerror"),
        ErrorCode::InternalError(_) => (Other, "internalerror"),
    }
}

/// Answer the caller (with `content-length`, so hosts need not chunk).
fn respond(out: ResponseOutparam, reply: &Reply) {
    let Ok(headers) = Fields::from_list(&header_list(&reply.headers, reply.body.len())) else {
        ResponseOutparam::set(out, Err(ErrorCode::InternalError(Some("bad reply headers".into()))));
        return;
    };
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(reply.status);
    let Ok(body) = response.body() else {
        ResponseOutparam::set(out, Err(ErrorCode::InternalError(Some("no reply body".into()))));
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = body.write() {
        let _ = write_all(&stream, reply.body.as_bytes());
    }
    let _ = OutgoingBody::finish(body, None);
}
