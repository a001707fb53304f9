#!/bin/sh
# nslab plan for lab 'vip-source-example2' (labs/vip-source-example2.yaml)
# The root namespace only gets `ip netns add` and veths created directly inside the lab namespaces.
set -e

# namespaces and links
ip netns add nslab-vip-source-example2.server
ip netns add nslab-vip-source-example2.gateway
ip netns add nslab-vip-source-example2.remote
ip netns add nslab-vip-source-example2.peer1
ip netns add nslab-vip-source-example2.peer2
ip link add name eth0 index 1000 netns nslab-vip-source-example2.server type veth peer name lan index 1001 netns nslab-vip-source-example2.gateway
ip link add name wan index 1002 netns nslab-vip-source-example2.gateway type veth peer name eth0 index 1003 netns nslab-vip-source-example2.remote
ip link add name eth1 index 1004 netns nslab-vip-source-example2.server type veth peer name eth0 index 1005 netns nslab-vip-source-example2.peer1
ip link add name eth2 index 1006 netns nslab-vip-source-example2.server type veth peer name eth0 index 1007 netns nslab-vip-source-example2.peer2

# node server
ip -n nslab-vip-source-example2.server link set dev lo up
ip -n nslab-vip-source-example2.server addr add 10.1.5.170/16 dev eth0
ip -n nslab-vip-source-example2.server addr add 192.168.3.170/28 dev eth1
ip -n nslab-vip-source-example2.server addr add 192.168.3.171/28 dev eth1
ip -n nslab-vip-source-example2.server addr add 172.16.1.170/16 dev eth2
ip -n nslab-vip-source-example2.server link set dev eth0 up
ip -n nslab-vip-source-example2.server link set dev eth1 up
ip -n nslab-vip-source-example2.server link set dev eth2 up
ip -n nslab-vip-source-example2.server route add default via 10.1.0.1 dev eth0

# node gateway
ip netns exec nslab-vip-source-example2.gateway sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-vip-source-example2.gateway link set dev lo up
ip -n nslab-vip-source-example2.gateway addr add 10.1.0.1/16 dev lan
ip -n nslab-vip-source-example2.gateway addr add 198.51.100.1/24 dev wan
ip -n nslab-vip-source-example2.gateway link set dev lan up
ip -n nslab-vip-source-example2.gateway link set dev wan up

# node remote
ip -n nslab-vip-source-example2.remote link set dev lo up
ip -n nslab-vip-source-example2.remote addr add 198.51.100.10/24 dev eth0
ip -n nslab-vip-source-example2.remote link set dev eth0 up
ip -n nslab-vip-source-example2.remote route add default via 198.51.100.1

# node peer1
ip -n nslab-vip-source-example2.peer1 link set dev lo up
ip -n nslab-vip-source-example2.peer1 addr add 192.168.3.161/28 dev eth0
ip -n nslab-vip-source-example2.peer1 link set dev eth0 up

# node peer2
ip -n nslab-vip-source-example2.peer2 link set dev lo up
ip -n nslab-vip-source-example2.peer2 addr add 172.16.0.50/16 dev eth0
ip -n nslab-vip-source-example2.peer2 link set dev eth0 up

# tear down: ip netns del nslab-vip-source-example2.server; ip netns del nslab-vip-source-example2.gateway; ip netns del nslab-vip-source-example2.remote; ip netns del nslab-vip-source-example2.peer1; ip netns del nslab-vip-source-example2.peer2
