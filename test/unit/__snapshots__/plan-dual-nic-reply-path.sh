#!/bin/sh
# nslab plan for lab 'dual-nic-reply-path' (labs/dual-nic-reply-path.yaml)
# The root namespace only gets `ip netns add` and veths created directly inside the lab namespaces.
set -e

# namespaces and links
ip netns add nslab-dual-nic-reply-path-pc2
ip netns add nslab-dual-nic-reply-path-router
ip netns add nslab-dual-nic-reply-path-server
ip link add name eth0 netns nslab-dual-nic-reply-path-pc2 type veth peer name lan netns nslab-dual-nic-reply-path-router
ip link add name eth0 netns nslab-dual-nic-reply-path-server type veth peer name net0 netns nslab-dual-nic-reply-path-router
ip link add name eth1 netns nslab-dual-nic-reply-path-server type veth peer name net1 netns nslab-dual-nic-reply-path-router

# node pc2
ip -n nslab-dual-nic-reply-path-pc2 link set dev lo up
ip -n nslab-dual-nic-reply-path-pc2 addr add 192.168.2.17/24 dev eth0
ip -n nslab-dual-nic-reply-path-pc2 link set dev eth0 up
ip -n nslab-dual-nic-reply-path-pc2 route add default via 192.168.2.1

# node router
ip netns exec nslab-dual-nic-reply-path-router sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n nslab-dual-nic-reply-path-router link set dev lo up
ip -n nslab-dual-nic-reply-path-router addr add 192.168.2.1/24 dev lan
ip -n nslab-dual-nic-reply-path-router addr add 10.0.0.1/24 dev net0
ip -n nslab-dual-nic-reply-path-router addr add 192.168.1.254/24 dev net1
ip -n nslab-dual-nic-reply-path-router link set dev lan up
ip -n nslab-dual-nic-reply-path-router link set dev net0 up
ip -n nslab-dual-nic-reply-path-router link set dev net1 up
tc -n nslab-dual-nic-reply-path-router qdisc add dev net1 root handle 1: tbf rate 10mbit burst 25000 latency 50ms

# node server
ip -n nslab-dual-nic-reply-path-server link set dev lo up
ip -n nslab-dual-nic-reply-path-server addr add 10.0.0.220/24 dev eth0
ip -n nslab-dual-nic-reply-path-server addr add 192.168.1.220/24 dev eth1
ip -n nslab-dual-nic-reply-path-server addr add 2001:db8:1::220/64 dev eth1 nodad
ip -n nslab-dual-nic-reply-path-server link set dev eth0 up
ip -n nslab-dual-nic-reply-path-server link set dev eth1 up
ip -n nslab-dual-nic-reply-path-server route add default via 10.0.0.1
tc -n nslab-dual-nic-reply-path-server qdisc add dev eth1 root handle 1: tbf rate 10mbit burst 25000 latency 50ms

# tear down: ip netns del nslab-dual-nic-reply-path-pc2; ip netns del nslab-dual-nic-reply-path-router; ip netns del nslab-dual-nic-reply-path-server
