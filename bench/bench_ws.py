#!/usr/bin/python3
"""Sets up what a benchmark needs on a running Herald, through its API.

  bench_ws.py create URL ADMIN_KEY [--id bench] [--members m1,m2,m3 | --staff N]
                     [--email] [--scheduling-email] [--all-staff] [--apns]
      makes the workspace and its practitioners; prints the API key.
      --email: each member has an address (m1@bench.example);
      --scheduling-email: bookings email their practitioners (workspace default);
      --all-staff: booking alerts go to all staff;
      --apns: each member registers one APNs device.
  bench_ws.py token URL API_KEY MEMBER
      prints a member token.
"""
import argparse
import json
import os
import sys
import urllib.request


def call(url, method, path, body, token):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))


def create(a):
    key = call(a.url, "POST", "/v1/workspaces",
               {"id": a.id, "name": a.id.title(), "timezone": "Europe/Dublin"}, a.admin)["api_key"]
    if a.scheduling_email:
        call(a.url, "PATCH", "/v1/workspace",
             {"default_preferences": {"categories": {"scheduling": {"email": True}}}}, key)
    if a.all_staff:
        call(a.url, "PATCH", "/v1/workspace", {"booking_alert_audience": "all_staff"}, key)
    members = (["m%d" % i for i in range(1, a.staff + 1)] if a.staff
               else a.members.split(","))
    for m in members:
        body = {"name": m, "role": "practitioner"}
        if a.email:
            body["email"] = m + "@bench.example"
        call(a.url, "PUT", "/v1/members/" + m, body, key)
        if a.apns:
            tok = call(a.url, "POST", "/v1/members/%s/tokens" % m, {}, key)["token"]
            call(a.url, "PUT", "/v1/me/devices/iphone",
                 {"kind": "apns", "token": os.urandom(32).hex()}, tok)
    print(key)


def token(a):
    print(call(a.url, "POST", "/v1/members/%s/tokens" % a.member, {}, a.key)["token"])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("url")
    c.add_argument("admin")
    c.add_argument("--id", default="bench")
    c.add_argument("--members", default="m1,m2,m3")
    c.add_argument("--staff", type=int, default=0)
    for flag in ("--email", "--scheduling-email", "--all-staff", "--apns"):
        c.add_argument(flag, action="store_true")
    c.set_defaults(fn=create)
    t = sub.add_parser("token")
    t.add_argument("url")
    t.add_argument("key")
    t.add_argument("member")
    t.set_defaults(fn=token)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
