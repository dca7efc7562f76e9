#!/usr/bin/env python3
"""A delay line for the NAT lab, where the kernel has no `sch_netem` for `tc netem`.

Runs inside a lab computer's network namespace. It opens the TUN device NAME (the computer's
default route points at it), holds every IPv4 packet the computer sends for DELAY_MS, then puts it
on the wire of ETH as an Ethernet frame to the router (ROUTER_MAC, from OWN_MAC). Packets coming
back arrive on ETH directly, undelayed: the round trip grows by DELAY_MS, as on a slow mobile
or satellite link. It ends when its standard input closes (the test that started it ended).

    delayline.py NAME ETH ROUTER_MAC OWN_MAC DELAY_MS
"""

import collections
import fcntl
import os
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
# Packets held at once; beyond this the line drops, as a full router queue would.
MAX_HELD = 10_000


def mac(text):
    return bytes(int(part, 16) for part in text.split(":"))


def main():
    name, eth, router_mac, own_mac, delay_ms = sys.argv[1:6]
    delay = int(delay_ms) / 1000.0
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    wire.bind((eth, 0))
    header = mac(router_mac) + mac(own_mac) + b"\x08\x00"
    held = collections.deque()
    print("ready", flush=True)
    stdin = sys.stdin.fileno()
    while True:
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, packet = held.popleft()
            try:
                wire.send(header + packet)
            except OSError:
                pass  # the link is down or the packet too large: lost, as on a real wire
        timeout = max(0.0, held[0][0] - now) if held else None
        readable, _, _ = select.select([tun, stdin], [], [], timeout)
        if stdin in readable and not os.read(stdin, 4096):
            return
        if tun in readable:
            packet = os.read(tun, 65536)
            if packet and packet[0] >> 4 == 4 and len(held) < MAX_HELD:
                held.append((time.monotonic() + delay, packet))


if __name__ == "__main__":
    main()
