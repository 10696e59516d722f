# workerd.capnp: the sensu-reactio JS edge module under Cloudflare's workerd
# (after scripts/build-gateways.sh, from the repository root:
# `wasm/js/node_modules/.bin/workerd serve examples/gateways/workerd.capnp`). On Cloudflare itself, deploy wasm/js/edge/worker.js
# with wrangler and set the same two bindings (the key as a secret).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .gateway),
    # fetch() goes out through this service; add "private"/"local" to reach a
    # Reactio stand-in on loopback (the tests do).
    (name = "reactio", network = (allow = ["public"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const gateway :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "../../wasm/js/edge/worker.js"),
    (name = "handle.js", esModule = embed "../../wasm/js/edge/handle.js"),
    (name = "pkg/sensu_reactio_edge.js", esModule = embed "../../wasm/js/edge/pkg/sensu_reactio_edge.js"),
    (name = "pkg/sensu_reactio_edge_bg.wasm", wasm = embed "../../wasm/js/edge/pkg/sensu_reactio_edge_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "SENSU_REACTIO_GATEWAY_CONFIG",
     text = "{\"token\":\"change-me-to-a-long-random-token\",\"config\":{\"settings\":{\"reactio\":{\"organization\":\"demo\"}}}}"),
    # In production read it from a file kept out of version control: text = embed "reactio.key".
    (name = "REACTIO_API_KEY", text = "replace-with-your-reactio-api-key"),
  ],
  globalOutbound = "reactio",
);
