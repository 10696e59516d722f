//! `sensu-reactio-handler`: the Sensu pipe handler binary (placeholder until the host lands).

fn main() {}
