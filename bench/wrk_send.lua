-- wrk script for scenario 7 (publish throughput): every request is a POST
-- with a fixed body. bench/run.sh sets the body and content type through the
-- environment so one script serves both rtdemo (form body on /send) and
-- Nchan (raw body on /pub?id=C, channel in the URL).
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "channel=wrk&data=hello"
wrk.headers["Content-Type"] =
  os.getenv("WRK_CONTENT_TYPE") or "application/x-www-form-urlencoded"
