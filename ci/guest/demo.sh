#!/bin/bash
# Runs inside the guest for 'make run'.
echo "demo: kernel $(uname -r) on $(nproc) CPUs"
echo "demo: $(grep -c '' /proc/self/status) lines of /proc/self/status; init is $(cat /proc/1/comm)"
