#include <cstdio>
int main() { std::puts("dcsde " DCSDE_VERSION); return 0; }
