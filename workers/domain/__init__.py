"""Pure domain rules: no Kafka, no faust, no clock reads, no logging."""
