# Sourced (not executed: keep it non-executable) by the postgres image's entrypoint
# after the first initialisation: the server it starts next runs without the password
# in its environment (see start.sh).
unset POSTGRES_PASSWORD
