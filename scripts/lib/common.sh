# Shared by the scripts/ entry points: repository root and npm packages on demand.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Installs npm packages when node_modules is missing or older than package-lock.json.
ensure_npm_packages() {
  if [ ! -d "$REPO_ROOT/node_modules" ] || [ "$REPO_ROOT/package-lock.json" -nt "$REPO_ROOT/node_modules/.package-lock.json" ]; then
    echo "installing npm packages (npm ci)" >&2
    (cd "$REPO_ROOT" && npm ci --no-audit --no-fund)
  fi
}

# A TCP port nobody listens on right now (127.0.0.1).
free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# A free port below the kernel's ephemeral range: a server that stops and starts again on it (the NetBox e2e
# receiver) cannot lose it meanwhile to the source port of some outgoing connection.
stable_port() {
  local low
  low="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
  node -e "
    const net = require('net'); const low = Number(process.argv[1]);
    const attempt = () => {
      const port = 20000 + Math.floor(Math.random() * (low - 20000));
      const s = net.createServer();
      s.once('error', attempt);
      s.listen(port, '127.0.0.1', () => { console.log(port); s.close(); });
    };
    attempt();" "$low"
}
