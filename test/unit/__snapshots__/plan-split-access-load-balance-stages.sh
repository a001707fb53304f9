#!/bin/sh
# nslab plan for lab 'split-access-load-balance' (labs/split-access-load-balance.yaml), stages: one default route, split access, split access with the reader's routes, load balancing, weighted load balancing
# The root namespace only gets `ip netns add` and veths created directly inside the lab namespaces.
set -e

# namespaces and links
ip netns add nslab-split-access-load-balance.lb
ip netns add nslab-split-access-load-balance.local
ip netns add nslab-split-access-load-balance.p1
ip netns add nslab-split-access-load-balance.p2
ip netns add nslab-split-access-load-balance.internet
ip netns add nslab-split-access-load-balance.remote
ip link add name if0 index 1000 netns nslab-split-access-load-balance.lb type veth peer name eth0 index 1001 netns nslab-split-access-load-balance.local
ip link add name if1 index 1002 netns nslab-split-access-load-balance.lb type veth peer name cust index 1003 netns nslab-split-access-load-balance.p1
ip link add name if2 index 1004 netns nslab-split-access-load-balance.lb type veth peer name cust index 1005 netns nslab-split-access-load-balance.p2
ip link add name core index 1006 netns nslab-split-access-load-balance.p1 type veth peer name a index 1007 netns nslab-split-access-load-balance.internet
ip link add name core index 1008 netns nslab-split-access-load-balance.p2 type veth peer name b index 1009 netns nslab-split-access-load-balance.internet
ip link add name hosts index 1010 netns nslab-split-access-load-balance.internet type veth peer name eth0 index 1011 netns nslab-split-access-load-balance.remote

# table names inside nodes: ip netns exec NS shows /etc/netns/NS/iproute2 as /etc/iproute2 (nslab also copies the host's other files of /etc/iproute2 there)
mkdir -p /etc/netns/nslab-split-access-load-balance.lb/iproute2
cat >/etc/netns/nslab-split-access-load-balance.lb/iproute2/rt_tables <<'EOF'
# routing table names of node 'lb' of nslab lab 'split-access-load-balance'; removed with the lab
255	local
254	main
253	default
0	unspec
1	T1
2	T2
EOF

# node lb
ip netns exec nslab-split-access-load-balance.lb sysctl -q -w net.ipv4.fib_multipath_hash_policy=1
ip -n nslab-split-access-load-balance.lb link set dev lo up
ip -n nslab-split-access-load-balance.lb addr add 10.0.0.1/24 dev if0
ip -n nslab-split-access-load-balance.lb addr add 203.0.113.10/24 dev if1
ip -n nslab-split-access-load-balance.lb addr add 198.51.100.10/24 dev if2
ip -n nslab-split-access-load-balance.lb link set dev if0 up
ip -n nslab-split-access-load-balance.lb link set dev if1 up
ip -n nslab-split-access-load-balance.lb link set dev if2 up
ip -n nslab-split-access-load-balance.lb route add default via 203.0.113.1

# node local
ip -n nslab-split-access-load-balance.local link set dev lo up
ip -n nslab-split-access-load-balance.local addr add 10.0.0.10/24 dev eth0
ip -n nslab-split-access-load-balance.local link set dev eth0 up
ip -n nslab-split-access-load-balance.local route add default via 10.0.0.1

# node p1
ip netns exec nslab-split-access-load-balance.p1 sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-split-access-load-balance.p1 link set dev lo up
ip -n nslab-split-access-load-balance.p1 addr add 203.0.113.1/24 dev cust
ip -n nslab-split-access-load-balance.p1 addr add 100.64.1.1/24 dev core
ip -n nslab-split-access-load-balance.p1 link set dev cust up
ip -n nslab-split-access-load-balance.p1 link set dev core up
ip -n nslab-split-access-load-balance.p1 route add default via 100.64.1.2
ip netns exec nslab-split-access-load-balance.p1 nft -f - <<'EOF'
table ip antispoof {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "cust" ip saddr != 203.0.113.0/24 drop
  }
}
EOF

# node p2
ip netns exec nslab-split-access-load-balance.p2 sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-split-access-load-balance.p2 link set dev lo up
ip -n nslab-split-access-load-balance.p2 addr add 198.51.100.1/24 dev cust
ip -n nslab-split-access-load-balance.p2 addr add 100.64.2.1/24 dev core
ip -n nslab-split-access-load-balance.p2 link set dev cust up
ip -n nslab-split-access-load-balance.p2 link set dev core up
ip -n nslab-split-access-load-balance.p2 route add default via 100.64.2.2
ip netns exec nslab-split-access-load-balance.p2 nft -f - <<'EOF'
table ip antispoof {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "cust" ip saddr != 198.51.100.0/24 drop
  }
}
EOF

# node internet
ip netns exec nslab-split-access-load-balance.internet sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-split-access-load-balance.internet link set dev lo up
ip -n nslab-split-access-load-balance.internet addr add 100.64.1.2/24 dev a
ip -n nslab-split-access-load-balance.internet addr add 100.64.2.2/24 dev b
ip -n nslab-split-access-load-balance.internet addr add 100.64.0.1/24 dev hosts
ip -n nslab-split-access-load-balance.internet link set dev a up
ip -n nslab-split-access-load-balance.internet link set dev b up
ip -n nslab-split-access-load-balance.internet link set dev hosts up
ip -n nslab-split-access-load-balance.internet route add 203.0.113.0/24 via 100.64.1.1
ip -n nslab-split-access-load-balance.internet route add 198.51.100.0/24 via 100.64.2.1

# node remote
ip -n nslab-split-access-load-balance.remote link set dev lo up
ip -n nslab-split-access-load-balance.remote addr add 100.64.0.10/24 dev eth0
ip -n nslab-split-access-load-balance.remote addr add 100.64.0.11/24 dev eth0
ip -n nslab-split-access-load-balance.remote addr add 100.64.0.12/24 dev eth0
ip -n nslab-split-access-load-balance.remote addr add 100.64.0.13/24 dev eth0
ip -n nslab-split-access-load-balance.remote link set dev eth0 up
ip -n nslab-split-access-load-balance.remote route add default via 100.64.0.1

# node lb
ip -n nslab-split-access-load-balance.lb route replace 203.0.113.0/24 dev if1 src 203.0.113.10 table 1
ip -n nslab-split-access-load-balance.lb route replace default via 203.0.113.1 table 1
ip -n nslab-split-access-load-balance.lb route replace 198.51.100.0/24 dev if2 src 198.51.100.10 table 2
ip -n nslab-split-access-load-balance.lb route replace default via 198.51.100.1 table 2
ip -n nslab-split-access-load-balance.lb route replace 203.0.113.0/24 dev if1 src 203.0.113.10
ip -n nslab-split-access-load-balance.lb route replace 198.51.100.0/24 dev if2 src 198.51.100.10
ip -n nslab-split-access-load-balance.lb route replace default via 203.0.113.1
ip -n nslab-split-access-load-balance.lb rule add from 203.0.113.10 table 1
ip -n nslab-split-access-load-balance.lb rule add from 198.51.100.10 table 2
ip -n nslab-split-access-load-balance.lb route replace 10.0.0.0/24 dev if0 table 1
ip -n nslab-split-access-load-balance.lb route replace 198.51.100.0/24 dev if2 table 1
ip -n nslab-split-access-load-balance.lb route replace 127.0.0.0/8 dev lo table 1
ip -n nslab-split-access-load-balance.lb route replace 10.0.0.0/24 dev if0 table 2
ip -n nslab-split-access-load-balance.lb route replace 203.0.113.0/24 dev if1 table 2
ip -n nslab-split-access-load-balance.lb route replace 127.0.0.0/8 dev lo table 2
ip -n nslab-split-access-load-balance.lb route replace default scope global nexthop via 203.0.113.1 dev if1 weight 1 nexthop via 198.51.100.1 dev if2 weight 1
ip -n nslab-split-access-load-balance.lb route replace default scope global nexthop via 203.0.113.1 dev if1 weight 3 nexthop via 198.51.100.1 dev if2 weight 1

# tear down: ip netns del nslab-split-access-load-balance.lb; ip netns del nslab-split-access-load-balance.local; ip netns del nslab-split-access-load-balance.p1; ip netns del nslab-split-access-load-balance.p2; ip netns del nslab-split-access-load-balance.internet; ip netns del nslab-split-access-load-balance.remote; rm -r /etc/netns/nslab-split-access-load-balance.lb
