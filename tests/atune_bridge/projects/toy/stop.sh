#!/bin/sh
echo stop >> restarts.log
