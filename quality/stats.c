/* avtruth quality: agreement statistics.
 * - Cohen, J. (1960). A coefficient of agreement for nominal scales. Educ. Psychol. Meas. 20.
 * - Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychol. Bull. 76.
 * - Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
 *   reliability. Psychol. Bull. 86, Case 2 (two-way random effects), ICC(2,1). */
#include <math.h>

#include "avtruth/quality.h"

double avt_kappa_cohen(const double *t, int k)
{
    double n = 0, po = 0, pe = 0;
    for (int i = 0; i < k * k; i++) n += t[i];
    if (!(n > 0)) return NAN;
    for (int i = 0; i < k; i++) {
        double row = 0, col = 0;
        for (int j = 0; j < k; j++) row += t[i * k + j], col += t[j * k + i];
        po += t[i * k + i] / n;
        pe += (row / n) * (col / n);
    }
    return pe < 1 ? (po - pe) / (1 - pe) : NAN;
}

double avt_kappa_fleiss(const double *x, size_t n, int k)
{
    if (n == 0 || k < 1) return NAN;
    double r = 0;
    for (int j = 0; j < k; j++) r += x[j];
    if (!(r >= 2)) return NAN;
    double pbar = 0, pe = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < k; j++) s += x[i * (size_t)k + (size_t)j] * x[i * (size_t)k + (size_t)j];
        pbar += (s - r) / (r * (r - 1));
    }
    pbar /= (double)n;
    for (int j = 0; j < k; j++) {
        double pj = 0;
        for (size_t i = 0; i < n; i++) pj += x[i * (size_t)k + (size_t)j];
        pj /= (double)n * r;
        pe += pj * pj;
    }
    return pe < 1 ? (pbar - pe) / (1 - pe) : NAN;
}

double avt_icc_2_1(const double *x, size_t n, size_t k)
{
    if (n < 2 || k < 2) return NAN;
    double gm = 0, ssr = 0, ssc = 0, sst = 0;
    for (size_t i = 0; i < n * k; i++) gm += x[i];
    gm /= (double)(n * k);
    for (size_t i = 0; i < n; i++) {
        double m = 0;
        for (size_t j = 0; j < k; j++) m += x[i * k + j];
        m /= (double)k;
        ssr += (double)k * (m - gm) * (m - gm);
    }
    for (size_t j = 0; j < k; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) m += x[i * k + j];
        m /= (double)n;
        ssc += (double)n * (m - gm) * (m - gm);
    }
    for (size_t i = 0; i < n * k; i++) sst += (x[i] - gm) * (x[i] - gm);
    double bms = ssr / (double)(n - 1), jms = ssc / (double)(k - 1);
    double ems = (sst - ssr - ssc) / (double)((n - 1) * (k - 1));
    double den = bms + (double)(k - 1) * ems + (double)k * (jms - ems) / (double)n;
    return den != 0 ? (bms - ems) / den : NAN;
}
