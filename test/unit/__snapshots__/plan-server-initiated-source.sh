#!/bin/sh
# nslab plan for lab 'server-initiated-source' (labs/server-initiated-source.yaml)
# The root namespace only gets `ip netns add` and veths created directly inside the lab namespaces.
set -e

# namespaces and links
ip netns add nslab-server-initiated-source.server
ip netns add nslab-server-initiated-source.router
ip netns add nslab-server-initiated-source.client
ip link add name enetA index 1000 netns nslab-server-initiated-source.server type veth peer name a index 1001 netns nslab-server-initiated-source.router
ip link add name enetZ index 1002 netns nslab-server-initiated-source.server type veth peer name z index 1003 netns nslab-server-initiated-source.router
ip link add name eth0 index 1004 netns nslab-server-initiated-source.client type veth peer name c index 1005 netns nslab-server-initiated-source.router

# node server
ip -n nslab-server-initiated-source.server link set dev lo up
ip -n nslab-server-initiated-source.server addr add 172.16.1.50/24 dev enetA
ip -n nslab-server-initiated-source.server addr add 192.168.77.50/24 dev enetZ
ip -n nslab-server-initiated-source.server link set dev enetA up
ip -n nslab-server-initiated-source.server link set dev enetZ up
ip -n nslab-server-initiated-source.server route add default via 192.168.77.1

# node router
ip netns exec nslab-server-initiated-source.router sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
ip -n nslab-server-initiated-source.router link set dev lo up
ip -n nslab-server-initiated-source.router addr add 172.16.1.1/24 dev a
ip -n nslab-server-initiated-source.router addr add 192.168.77.1/24 dev z
ip -n nslab-server-initiated-source.router addr add 10.1.1.254/24 dev c
ip -n nslab-server-initiated-source.router link set dev a up
ip -n nslab-server-initiated-source.router link set dev z up
ip -n nslab-server-initiated-source.router link set dev c up

# node client
ip -n nslab-server-initiated-source.client link set dev lo up
ip -n nslab-server-initiated-source.client addr add 10.1.1.1/24 dev eth0
ip -n nslab-server-initiated-source.client link set dev eth0 up
ip -n nslab-server-initiated-source.client route add default via 10.1.1.254
ip netns exec nslab-server-initiated-source.client nft -f - <<'EOF'
# the client admits new connections from 172.16.1.50 only
table inet client_fw {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iif "lo" accept
    ip saddr 172.16.1.50 accept
  }
}
EOF

# tear down: ip netns del nslab-server-initiated-source.server; ip netns del nslab-server-initiated-source.router; ip netns del nslab-server-initiated-source.client
