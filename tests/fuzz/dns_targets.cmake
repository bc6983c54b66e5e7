# --dns-servers as the library reads it (guise_dns_servers_check, client/lib/dns.c).
# Seeds: tests/fuzz/corpus/dns_servers/.
guise_fuzz_target(dns_servers SOURCES "${CMAKE_CURRENT_LIST_DIR}/dns_servers.c" LIBS guise_core)
