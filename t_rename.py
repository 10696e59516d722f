"""Classic: a check renamed (http -> http_main) and a client renamed (web01 -> web01.prod) while failing.
Informational (the spec does not say): what happens to the old incident and whether people are called again."""
import sys, time; sys.path.insert(0, "/tmp/audit8/a")
from lib import *
T = int(time.time()) - 5000
e = Env("rename"); e.classic_conf({"call": ["critical"]}); S = ClassicServer()
cl = classic_client("web01"); ck = {"name": "http", "command": "x", "interval": 60, "handlers": ["reactio"]}
S.result(cl, ck, 0, "ok", T)
print(e.run_classic(S.result(cl, ck, 2, "CRIT\n", T + 60))["out"][:80])
ck2 = dict(ck, name="http_main")
r = e.run_classic(S.result(cl, ck2, 2, "CRIT\n", T + 120)); print("renamed check:", r["out"][:80], len(calls(r["reqs"])), "call(s)")
cl2 = classic_client("web01.prod")
r = e.run_classic(S.result(cl2, ck2, 2, "CRIT\n", T + 180)); print("renamed client:", r["out"][:80], len(calls(r["reqs"])), "call(s)")
print([(i["name"], i["status"]) for i in e.state()["incidents"]])
