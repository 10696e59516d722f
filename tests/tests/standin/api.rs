//! The Reactio API behaviour: create, get, list (paging, filters, order), status,
//! notifications, messages, auth and validation errors, seeding helpers.

use super::setup;
use sensu_reactio_tests::client::{Client, json_of};
use sensu_reactio_tests::standin::{Clock, Config, Limits, ListOrder, Seed};
use serde_json::json;

#[test]
fn create_answers_201_with_the_incident_and_the_notification() {
    let (server, mut client) = setup();
    let body = json!({
        "name": "web1/check_disk", "topics": ["原因調査", "復旧作業"],
        "notification_text": "disk full", "notification_call": true, "message": "<b>first</b>",
    });
    let answer = client.post_json("/api/v1/incidents", &body).unwrap();
    assert_eq!(answer.status, 201);
    let v = json_of(&answer);
    assert_eq!(v["id"], 1);
    assert_eq!(v["name"], "web1/check_disk");
    assert_eq!(v["status"], "open");
    assert_eq!(v["manager"], json!(null));
    assert_eq!(v["created_at"], 1_700_000_000);
    assert_eq!(v["closed_at"], json!(null));
    assert_eq!(v["topics"][1]["name"], "復旧作業");
    let n = &v["notifications"];
    assert_eq!(n["notification_text"], "disk full");
    assert_eq!(n["notification_call"], true);
    assert_eq!(n["notificated_for"], json!({"phone": [], "email1": [], "email2": [], "imkayac": []}));
    assert_eq!(n["created_at"], 1_700_000_000);
    // Second create gets id 2, no notification without notification_text.
    let v = json_of(&client.post_json("/api/v1/incidents", &json!({"name": "b", "status": "pend"})).unwrap());
    assert_eq!((v["id"].as_u64(), v["status"].as_str()), (Some(2), Some("pend")));
    assert!(v.get("notifications").is_none());
    assert_eq!(server.incidents().len(), 2);
    assert_eq!(server.notifications().len(), 1);
    assert_eq!(server.messages_for(1)[0].message, "<b>first</b>");
    assert_eq!(server.incident(1).unwrap().create_body["notification_call"], true);
}

#[test]
fn get_one_and_missing_one() {
    let (server, mut client) = setup();
    let id = server.seed(Seed::open("a").topics(&["t"]));
    let v = json_of(&client.get(&format!("/api/v1/incidents/{id}")).unwrap());
    assert_eq!((v["id"].as_u64(), v["name"].as_str()), (Some(id), Some("a")));
    assert!(v["files"].is_array() && v["users"].is_array());
    for missing in ["/api/v1/incidents/99", "/api/v1/incidents/abc", "/api/v1/incidents/0"] {
        let answer = client.get(missing).unwrap();
        assert_eq!(answer.status, 404, "{missing}");
        assert_eq!(json_of(&answer)["type"], "not_found");
    }
}

fn names(client: &mut Client, target: &str) -> Vec<String> {
    let answer = client.get(target).unwrap();
    assert_eq!(answer.status, 200, "{target}: {}", String::from_utf8_lossy(&answer.body));
    let v = json_of(&answer);
    v.as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn list_pages_newest_first_and_filters() {
    let (server, mut client) = setup();
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        server.seed(Seed::open(name).created_at(100 + i as i64));
    }
    server.close(2);
    server.take(4, 9);
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=2&page=1"), ["e", "d"]);
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=2&page=2"), ["c", "b"]);
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=2&page=3"), ["a"]);
    assert!(names(&mut client, "/api/v1/incidents?per_page=2&page=4").is_empty());
    assert_eq!(names(&mut client, "/api/v1/incidents?status=open"), ["e", "c", "a"]);
    assert_eq!(names(&mut client, "/api/v1/incidents?status=pend"), ["d"]);
    assert_eq!(names(&mut client, "/api/v1/incidents?status=close"), ["b"]);
    assert_eq!(names(&mut client, "/api/v1/incidents?from=101&to=103"), ["d", "c", "b"]);
    let list = json_of(&client.get("/api/v1/incidents?status=pend").unwrap());
    assert_eq!(list[0]["manager"], 9);
    assert!(list[0].get("topics").is_none(), "the list omits topics/files/users");
    server.set_order(ListOrder::OldestFirst);
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=2"), ["a", "b"]);
    for bad in ["status=opened", "page=0", "per_page=x", "from=yesterday"] {
        let answer = client.get(&format!("/api/v1/incidents?{bad}")).unwrap();
        assert_eq!(answer.status, 400, "{bad}");
        assert_eq!(json_of(&answer)["type"], "validation_error");
    }
}

#[test]
fn per_page_defaults_to_20_and_clamps_to_100() {
    let server = Config::default().start().unwrap();
    for i in 0..105 {
        server.seed_open(&format!("n{i}"));
    }
    let mut client = Client::with_key(server.addr(), &server.api_key()).unwrap();
    assert_eq!(names(&mut client, "/api/v1/incidents").len(), 20);
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=500").len(), 100);
    let small = Config::default().paging(3, 4).start().unwrap();
    for i in 0..10 {
        small.seed_open(&format!("n{i}"));
    }
    let mut client = Client::with_key(small.addr(), &small.api_key()).unwrap();
    assert_eq!(names(&mut client, "/api/v1/incidents").len(), 3);
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=50").len(), 4);
}

#[test]
fn pages_may_be_numbered_from_zero() {
    let server = Config::default().pages_from_zero().start().unwrap();
    for name in ["a", "b", "c"] {
        server.seed_open(name);
    }
    let mut client = Client::with_key(server.addr(), &server.api_key()).unwrap();
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=2"), ["c", "b"]);
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=2&page=0"), ["c", "b"]);
    assert_eq!(names(&mut client, "/api/v1/incidents?per_page=2&page=1"), ["a"]);
    assert_eq!(client.get("/api/v1/incidents?page=-1").unwrap().status, 400);
}

#[test]
fn a_plan_without_phone_calls_refuses_them_with_a_403() {
    let server = Config::default().without_phone_calls().start().unwrap();
    let mut client = Client::with_key(server.addr(), &server.api_key()).unwrap();
    let create = |call: bool| json!({"name": "k", "notification_text": "t", "notification_call": call});
    assert_eq!(client.post_json("/api/v1/incidents", &create(true)).unwrap().status, 403);
    assert!(server.incidents().is_empty());
    let answer = client.post_json("/api/v1/incidents", &create(false)).unwrap();
    assert_eq!(answer.status, 201);
    let id = json_of(&answer)["id"].as_u64().unwrap();
    let notify = |call: bool| json!({"incident_id": id, "notification_text": "t", "notification_call": call});
    assert_eq!(client.post_json("/api/v1/notifications", &notify(true)).unwrap().status, 403);
    assert_eq!(client.post_json("/api/v1/notifications", &notify(false)).unwrap().status, 201);
    assert_eq!(server.notifications().len(), 2, "the create's and the broadcast without a call");
}

#[test]
fn a_server_of_unique_names_refuses_a_name_in_use_even_closed_with_a_409() {
    let server = Config::default().unique_names().start().unwrap();
    let mut client = Client::with_key(server.addr(), &server.api_key()).unwrap();
    let create = |name: &str| json!({"name": name, "notification_text": "t"});
    let answer = client.post_json("/api/v1/incidents", &create("k")).unwrap();
    assert_eq!(answer.status, 201);
    assert!(server.close(json_of(&answer)["id"].as_u64().unwrap()));
    let refused = client.post_json("/api/v1/incidents", &create("k")).unwrap();
    assert_eq!(refused.status, 409);
    assert_eq!(json_of(&refused)["errors"][0]["code"], "taken");
    assert_eq!(client.post_json("/api/v1/incidents", &create("k (later)")).unwrap().status, 201);
    assert_eq!(server.incidents().len(), 2);
}

#[test]
fn status_notifications_and_messages() {
    let (server, mut client) = setup();
    let id = server.seed_open("k");
    server.set_clock(Clock::Fake { now: 2_000, step: 10 });
    let answer = client.post_json(&format!("/api/v1/incidents/{id}/status"), &json!({"status": "close"})).unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(json_of(&answer)["closed_at"], 2_000);
    assert_eq!(server.incident(id).unwrap().status, "close");
    let answer = client.post_json(&format!("/api/v1/incidents/{id}/status"), &json!({"status": "done"})).unwrap();
    assert_eq!(json_of(&answer)["errors"], json!([{"field": "status", "code": "invalid"}]));
    let answer = client.post_json("/api/v1/incidents/77/status", &json!({"status": "close"})).unwrap();
    assert_eq!(answer.status, 404);

    let n = client
        .post_json(
            "/api/v1/notifications",
            &json!({"incident_id": id, "notification_text": "again", "notification_call": true}),
        )
        .unwrap();
    assert_eq!(n.status, 201);
    assert_eq!(json_of(&n)["created_at"], 2_010, "the stepping clock advanced");
    let m = client.post_json("/api/v1/messages", &json!({"incident_id": id, "message": "<p>hi</p>"})).unwrap();
    assert_eq!(m.status, 201);
    assert_eq!(server.messages_for(id)[0].message, "<p>hi</p>");
    assert!(server.notifications()[0].notification_call);

    let missing = client.post_json("/api/v1/messages", &json!({"incident_id": 55, "message": "x"})).unwrap();
    assert_eq!(missing.status, 404);
    let invalid = client.post_json("/api/v1/notifications", &json!({"incident_id": id})).unwrap();
    assert_eq!(invalid.status, 400);
    assert_eq!(json_of(&invalid)["errors"], json!([{"field": "notification_text", "code": "missing_field"}]));
}

#[test]
fn auth_is_checked_with_the_documented_body() {
    let (server, _) = setup();
    let mut anonymous = Client::connect(server.addr()).unwrap();
    for headers in [&[][..], &[("X-Api-Key", "wrong")][..]] {
        let answer = anonymous.request("GET", "/api/v1/incidents", headers, b"").unwrap();
        assert_eq!(answer.status, 401);
        assert_eq!(json_of(&answer), json!({"type": "authentication_error", "message": "invalid api key"}));
    }
    assert!(server.incidents().is_empty());
    let mut lower = Client::connect(server.addr()).unwrap();
    let key = server.api_key();
    let answer = lower.request("GET", "/api/v1/incidents", &[("x-api-key", key.as_str())], b"").unwrap();
    assert_eq!(answer.status, 200, "header names are case-insensitive");
}

#[test]
fn validation_errors_and_routing() {
    let (server, mut client) = setup();
    for body in [json!({}), json!({"name": ""}), json!({"name": 5})] {
        let answer = client.post_json("/api/v1/incidents", &body).unwrap();
        assert_eq!(answer.status, 400);
        let v = json_of(&answer);
        assert_eq!(v["type"], "validation_error");
        assert!(v["message"].is_string());
        assert_eq!(v["errors"], json!([{"field": "name", "code": "missing_field"}]));
    }
    let answer = client.request("POST", "/api/v1/incidents", &[], b"name=x").unwrap();
    assert_eq!((answer.status, json_of(&answer)["type"].as_str()), (400, Some("validation_error")));
    let answer = client.request("DELETE", "/api/v1/incidents", &[], b"").unwrap();
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers.iter().find(|(n, _)| n == "allow").map(|(_, v)| v.as_str()), Some("GET, POST"));
    assert_eq!(client.request("POST", "/api/v1/incidents/1", &[], b"{}").unwrap().status, 405);
    assert_eq!(client.get("/api/v2/incidents").unwrap().status, 404);
    assert_eq!(client.get("/").unwrap().status, 404);
    assert!(server.incidents().is_empty());
}

#[test]
fn length_limits_name_the_field() {
    let (server, mut client) = setup();
    server.set_limits(Limits { name: Some(5), message: Some(3), notification_text: Some(4) });
    let answer = client.post_json("/api/v1/incidents", &json!({"name": "ééééé"})).unwrap();
    assert_eq!(answer.status, 201, "limits count characters, not bytes");
    let answer = client.post_json("/api/v1/incidents", &json!({"name": "abcdef", "message": "abcd"})).unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(
        json_of(&answer)["errors"],
        json!([{"field": "name", "code": "too_long"}, {"field": "message", "code": "too_long"}])
    );
    let answer =
        client.post_json("/api/v1/notifications", &json!({"incident_id": 1, "notification_text": "12345"})).unwrap();
    assert_eq!(json_of(&answer)["errors"], json!([{"field": "notification_text", "code": "too_long"}]));
    assert_eq!(server.incidents().len(), 1);
}

#[test]
fn seeding_helpers_model_people() {
    let (server, mut client) = setup();
    let open = server.seed_open("a");
    let pend = server.seed_pend("b", 42);
    let closed = server.seed_closed("c");
    let v = json_of(&client.get(&format!("/api/v1/incidents/{pend}")).unwrap());
    assert_eq!((v["status"].as_str(), v["manager"].as_i64()), (Some("pend"), Some(42)));
    assert_eq!(v["pended_at"], 1_700_000_000);
    assert_eq!(server.incident(closed).unwrap().closed_at, Some(1_700_000_000));
    server.advance(60);
    assert!(server.take(open, "someone"));
    let taken = server.incident(open).unwrap();
    assert_eq!((taken.status.as_str(), taken.pended_at), ("pend", Some(1_700_000_060)));
    assert_eq!(taken.manager, Some(json!("someone")));
    assert!(server.close(pend));
    assert!(!server.close(999));
    assert_eq!(server.open_incidents().iter().map(|i| i.id).collect::<Vec<_>>(), [open]);
}
