/* avtruth command line (placeholder until the pipeline lands). */
#include <stdio.h>
int main(void) { fprintf(stderr, "avtruth: not built yet\n"); return 1; }
