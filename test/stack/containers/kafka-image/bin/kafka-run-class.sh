#!/bin/bash
# java -cp 'libs/*' CLASS ARGS, with the image's log4j2 configuration and the KAFKA_*_OPTS of the official scripts.
base=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC2086 # the *_OPTS variables hold several options each
exec java ${KAFKA_HEAP_OPTS:-} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true} \
  ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/log4j2.properties} ${KAFKA_OPTS:-} \
  -cp "$base/libs/*" "$@"
