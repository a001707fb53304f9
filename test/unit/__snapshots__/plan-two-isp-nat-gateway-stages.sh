#!/bin/sh
# nslab plan for lab 'two-isp-nat-gateway' (labs/two-isp-nat-gateway.yaml), stages: one default route, replies per line, both lines for the LAN
# The root namespace only gets `ip netns add` and veths created directly inside the lab namespaces.
set -e

# namespaces and links
ip netns add nslab-two-isp-nat-gateway.pc
ip netns add nslab-two-isp-nat-gateway.gw
ip netns add nslab-two-isp-nat-gateway.isp-a
ip netns add nslab-two-isp-nat-gateway.isp-b
ip netns add nslab-two-isp-nat-gateway.internet
ip netns add nslab-two-isp-nat-gateway.client
ip link add name eth0 index 1000 netns nslab-two-isp-nat-gateway.pc type veth peer name lan index 1001 netns nslab-two-isp-nat-gateway.gw
ip link add name linea index 1002 netns nslab-two-isp-nat-gateway.gw type veth peer name cust index 1003 netns nslab-two-isp-nat-gateway.isp-a
ip link add name lineb index 1004 netns nslab-two-isp-nat-gateway.gw type veth peer name cust index 1005 netns nslab-two-isp-nat-gateway.isp-b
ip link add name core index 1006 netns nslab-two-isp-nat-gateway.isp-a type veth peer name a index 1007 netns nslab-two-isp-nat-gateway.internet
ip link add name core index 1008 netns nslab-two-isp-nat-gateway.isp-b type veth peer name b index 1009 netns nslab-two-isp-nat-gateway.internet
ip link add name hosts index 1010 netns nslab-two-isp-nat-gateway.internet type veth peer name eth0 index 1011 netns nslab-two-isp-nat-gateway.client

# table names inside nodes: ip netns exec NS shows /etc/netns/NS/iproute2 as /etc/iproute2 (nslab also copies the host's other files of /etc/iproute2 there)
mkdir -p /etc/netns/nslab-two-isp-nat-gateway.gw/iproute2
cat >/etc/netns/nslab-two-isp-nat-gateway.gw/iproute2/rt_tables <<'EOF'
# routing table names of node 'gw' of nslab lab 'two-isp-nat-gateway'; removed with the lab
255	local
254	main
253	default
0	unspec
101	line-a
102	line-b
EOF

# node pc
ip -n nslab-two-isp-nat-gateway.pc link set dev lo up
ip -n nslab-two-isp-nat-gateway.pc addr add 192.168.0.10/24 dev eth0
ip -n nslab-two-isp-nat-gateway.pc link set dev eth0 up
ip -n nslab-two-isp-nat-gateway.pc route add default via 192.168.0.1

# node gw
ip netns exec nslab-two-isp-nat-gateway.gw sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.fib_multipath_hash_policy=1
ip -n nslab-two-isp-nat-gateway.gw link set dev lo up
ip -n nslab-two-isp-nat-gateway.gw addr add 192.168.0.1/24 dev lan
ip -n nslab-two-isp-nat-gateway.gw addr add 203.0.113.2/24 dev linea
ip -n nslab-two-isp-nat-gateway.gw addr add 198.51.100.2/24 dev lineb
ip -n nslab-two-isp-nat-gateway.gw link set dev lan up
ip -n nslab-two-isp-nat-gateway.gw link set dev linea up
ip -n nslab-two-isp-nat-gateway.gw link set dev lineb up
ip -n nslab-two-isp-nat-gateway.gw route add default via 203.0.113.1
tc -n nslab-two-isp-nat-gateway.gw qdisc add dev linea root handle 1: tbf rate 20mbit burst 50000 latency 50ms
tc -n nslab-two-isp-nat-gateway.gw qdisc add dev lineb root handle 1: tbf rate 10mbit burst 25000 latency 50ms
ip netns exec nslab-two-isp-nat-gateway.gw nft -f - <<'EOF'
table ip nslab_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname { "linea", "lineb" } masquerade
  }
}
EOF

# node isp-a
ip netns exec nslab-two-isp-nat-gateway.isp-a sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-two-isp-nat-gateway.isp-a link set dev lo up
ip -n nslab-two-isp-nat-gateway.isp-a addr add 203.0.113.1/24 dev cust
ip -n nslab-two-isp-nat-gateway.isp-a addr add 100.64.1.1/24 dev core
ip -n nslab-two-isp-nat-gateway.isp-a link set dev cust up
ip -n nslab-two-isp-nat-gateway.isp-a link set dev core up
ip -n nslab-two-isp-nat-gateway.isp-a route add default via 100.64.1.2
tc -n nslab-two-isp-nat-gateway.isp-a qdisc add dev cust root handle 1: tbf rate 20mbit burst 50000 latency 50ms
ip netns exec nslab-two-isp-nat-gateway.isp-a nft -f - <<'EOF'
table ip antispoof {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "cust" ip saddr != 203.0.113.0/24 drop
  }
}
EOF

# node isp-b
ip netns exec nslab-two-isp-nat-gateway.isp-b sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-two-isp-nat-gateway.isp-b link set dev lo up
ip -n nslab-two-isp-nat-gateway.isp-b addr add 198.51.100.1/24 dev cust
ip -n nslab-two-isp-nat-gateway.isp-b addr add 100.64.2.1/24 dev core
ip -n nslab-two-isp-nat-gateway.isp-b link set dev cust up
ip -n nslab-two-isp-nat-gateway.isp-b link set dev core up
ip -n nslab-two-isp-nat-gateway.isp-b route add default via 100.64.2.2
tc -n nslab-two-isp-nat-gateway.isp-b qdisc add dev cust root handle 1: tbf rate 10mbit burst 25000 latency 50ms
ip netns exec nslab-two-isp-nat-gateway.isp-b nft -f - <<'EOF'
table ip antispoof {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "cust" ip saddr != 198.51.100.0/24 drop
  }
}
EOF

# node internet
ip netns exec nslab-two-isp-nat-gateway.internet sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-two-isp-nat-gateway.internet link set dev lo up
ip -n nslab-two-isp-nat-gateway.internet addr add 100.64.1.2/24 dev a
ip -n nslab-two-isp-nat-gateway.internet addr add 100.64.2.2/24 dev b
ip -n nslab-two-isp-nat-gateway.internet addr add 100.64.0.1/24 dev hosts
ip -n nslab-two-isp-nat-gateway.internet link set dev a up
ip -n nslab-two-isp-nat-gateway.internet link set dev b up
ip -n nslab-two-isp-nat-gateway.internet link set dev hosts up
ip -n nslab-two-isp-nat-gateway.internet route add 203.0.113.0/24 via 100.64.1.1
ip -n nslab-two-isp-nat-gateway.internet route add 198.51.100.0/24 via 100.64.2.1

# node client
ip -n nslab-two-isp-nat-gateway.client link set dev lo up
ip -n nslab-two-isp-nat-gateway.client addr add 100.64.0.10/24 dev eth0
ip -n nslab-two-isp-nat-gateway.client addr add 100.64.0.11/24 dev eth0
ip -n nslab-two-isp-nat-gateway.client addr add 100.64.0.12/24 dev eth0
ip -n nslab-two-isp-nat-gateway.client addr add 100.64.0.13/24 dev eth0
ip -n nslab-two-isp-nat-gateway.client link set dev eth0 up
ip -n nslab-two-isp-nat-gateway.client route add default via 100.64.0.1

# node gw
ip -n nslab-two-isp-nat-gateway.gw route replace 203.0.113.0/24 dev linea src 203.0.113.2 table 101
ip -n nslab-two-isp-nat-gateway.gw route replace default via 203.0.113.1 table 101
ip -n nslab-two-isp-nat-gateway.gw route replace 198.51.100.0/24 dev lineb src 198.51.100.2 table 102
ip -n nslab-two-isp-nat-gateway.gw route replace default via 198.51.100.1 table 102
ip -n nslab-two-isp-nat-gateway.gw rule add from 203.0.113.2 table 101
ip -n nslab-two-isp-nat-gateway.gw rule add from 198.51.100.2 table 102
ip -n nslab-two-isp-nat-gateway.gw route replace default scope global nexthop via 203.0.113.1 dev linea weight 1 nexthop via 198.51.100.1 dev lineb weight 1

# services
ip netns exec nslab-two-isp-nat-gateway.gw node -e 'require('\''net'\'').createServer(s=>{s.on('\''error'\'',()=>{});s.end('\''220 mail-a\n'\'')}).listen(25,'\''203.0.113.2'\'')' >gw-mail-a.log 2>&1 &
ip netns exec nslab-two-isp-nat-gateway.gw node -e 'require('\''net'\'').createServer(s=>{s.on('\''error'\'',()=>{});s.end('\''220 mail-b\n'\'')}).listen(25,'\''198.51.100.2'\'')' >gw-mail-b.log 2>&1 &

# tear down: ip netns del nslab-two-isp-nat-gateway.pc; ip netns del nslab-two-isp-nat-gateway.gw; ip netns del nslab-two-isp-nat-gateway.isp-a; ip netns del nslab-two-isp-nat-gateway.isp-b; ip netns del nslab-two-isp-nat-gateway.internet; ip netns del nslab-two-isp-nat-gateway.client; rm -r /etc/netns/nslab-two-isp-nat-gateway.gw
