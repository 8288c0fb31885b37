"""`gridctl replay`: re-send a recorded call, shrink a failing one, diff it against gridctl's own ping.

har.py (a HAR file -> RecordedCall, pure), request.py (a request as data, its candidate changes, curl),
minimize.py (ddmin, pure), send.py (where a call may go, and one request through probe/client.py),
main.py (the three forms -> Report).
"""
