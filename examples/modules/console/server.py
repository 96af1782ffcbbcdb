"""The operators' console: a small HTTP service reading the config cairn rendered."""

import configparser
import http.server
import sys

config = configparser.ConfigParser()
config.read(sys.argv[1])
title = config["console"]["title"].strip('"')
port = int(config["console"]["port"])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n" if self.path == "/health" else f"<h1>{title}</h1>\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
