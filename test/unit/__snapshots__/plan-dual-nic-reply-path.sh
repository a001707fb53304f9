#!/bin/sh
# nslab plan for lab 'dual-nic-reply-path' (labs/dual-nic-reply-path.yaml)
# The root namespace only gets `ip netns add` and veths created directly inside the lab namespaces.
set -e

# namespaces and links
ip netns add nslab-dual-nic-reply-path.pc2
ip netns add nslab-dual-nic-reply-path.pc1
ip netns add nslab-dual-nic-reply-path.sw1
ip netns add nslab-dual-nic-reply-path.router
ip netns add nslab-dual-nic-reply-path.server
ip link add name eth0 index 1000 netns nslab-dual-nic-reply-path.pc2 type veth peer name lan index 1001 netns nslab-dual-nic-reply-path.router
ip link add name eth0 index 1002 netns nslab-dual-nic-reply-path.server type veth peer name net0 index 1003 netns nslab-dual-nic-reply-path.router
ip link add name eth1 index 1004 netns nslab-dual-nic-reply-path.server type veth peer name p1 index 1005 netns nslab-dual-nic-reply-path.sw1
ip link add name net1 index 1006 netns nslab-dual-nic-reply-path.router type veth peer name p2 index 1007 netns nslab-dual-nic-reply-path.sw1
ip link add name eth0 index 1008 netns nslab-dual-nic-reply-path.pc1 type veth peer name p3 index 1009 netns nslab-dual-nic-reply-path.sw1

# table names inside nodes: ip netns exec NS shows /etc/netns/NS/iproute2 as /etc/iproute2 (nslab also copies the host's other files of /etc/iproute2 there)
mkdir -p /etc/netns/nslab-dual-nic-reply-path.server/iproute2
cat >/etc/netns/nslab-dual-nic-reply-path.server/iproute2/rt_tables <<'EOF'
# routing table names of node 'server' of nslab lab 'dual-nic-reply-path'; removed with the lab
255	local
254	main
253	default
0	unspec
201	gateway1
EOF

# node pc2
ip -n nslab-dual-nic-reply-path.pc2 link set dev lo up
ip -n nslab-dual-nic-reply-path.pc2 addr add 192.168.2.17/24 dev eth0
ip -n nslab-dual-nic-reply-path.pc2 link set dev eth0 up
ip -n nslab-dual-nic-reply-path.pc2 route add default via 192.168.2.1

# node pc1
ip -n nslab-dual-nic-reply-path.pc1 link set dev lo up
ip -n nslab-dual-nic-reply-path.pc1 addr add 192.168.1.17/24 dev eth0
ip -n nslab-dual-nic-reply-path.pc1 link set dev eth0 up
ip -n nslab-dual-nic-reply-path.pc1 route add default via 192.168.1.254

# node sw1
ip -n nslab-dual-nic-reply-path.sw1 link set dev lo up
ip -n nslab-dual-nic-reply-path.sw1 link add name br0 type bridge
ip -n nslab-dual-nic-reply-path.sw1 link set dev br0 up
ip -n nslab-dual-nic-reply-path.sw1 link set dev p1 master br0
ip -n nslab-dual-nic-reply-path.sw1 link set dev p2 master br0
ip -n nslab-dual-nic-reply-path.sw1 link set dev p3 master br0
ip -n nslab-dual-nic-reply-path.sw1 link set dev p1 up
ip -n nslab-dual-nic-reply-path.sw1 link set dev p2 up
ip -n nslab-dual-nic-reply-path.sw1 link set dev p3 up
tc -n nslab-dual-nic-reply-path.sw1 qdisc add dev p1 root handle 1: tbf rate 10mbit burst 25000 latency 50ms

# node router
ip netns exec nslab-dual-nic-reply-path.router sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-dual-nic-reply-path.router link set dev lo up
ip -n nslab-dual-nic-reply-path.router addr add 192.168.2.1/24 dev lan
ip -n nslab-dual-nic-reply-path.router addr add 10.0.0.1/24 dev net0
ip -n nslab-dual-nic-reply-path.router addr add 192.168.1.254/24 dev net1
ip -n nslab-dual-nic-reply-path.router link set dev lan up
ip -n nslab-dual-nic-reply-path.router link set dev net0 up
ip -n nslab-dual-nic-reply-path.router link set dev net1 up

# node server
ip netns exec nslab-dual-nic-reply-path.server sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth1.accept_dad=0
ip -n nslab-dual-nic-reply-path.server link set dev lo up
ip -n nslab-dual-nic-reply-path.server addr add 10.0.0.220/24 dev eth0
ip -n nslab-dual-nic-reply-path.server addr add 192.168.1.220/24 dev eth1
ip -n nslab-dual-nic-reply-path.server addr add 2001:db8:1::220/64 dev eth1 nodad
ip -n nslab-dual-nic-reply-path.server link set dev eth0 up
ip -n nslab-dual-nic-reply-path.server link set dev eth1 up
ip -n nslab-dual-nic-reply-path.server route add default via 10.0.0.1
tc -n nslab-dual-nic-reply-path.server qdisc add dev eth1 root handle 1: tbf rate 10mbit burst 25000 latency 50ms

# tear down: ip netns del nslab-dual-nic-reply-path.pc2; ip netns del nslab-dual-nic-reply-path.pc1; ip netns del nslab-dual-nic-reply-path.sw1; ip netns del nslab-dual-nic-reply-path.router; ip netns del nslab-dual-nic-reply-path.server; rm -r /etc/netns/nslab-dual-nic-reply-path.server
