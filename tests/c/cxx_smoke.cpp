// fastact.h from C++: the header compiles as C++11 (extern "C", no C-only
// constructs) and a program links and runs against libfastact.
#include <fastact.h>

#include <cmath>
#include <cstdio>
#include <vector>

int main()
{
    std::vector<float> x(37), y(37), d(37);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.25f - 4.0f;

    int bad = 0;
    if (fastact_mish_f32(x.size(), x.data(), y.data()) != FASTACT_OK) bad |= 1;
    if (fastact_value_and_derivative(FASTACT_OP_MISH, FASTACT_F32, x.size(), x.data(), y.data(),
                                     d.data(), nullptr) != FASTACT_OK)
        bad |= 2;
    std::vector<double> xd(x.begin(), x.end()), yd(x.size());
    if (fastact_leaky_relu_f64(xd.size(), xd.data(), yd.data(), 0.2) != FASTACT_OK) bad |= 4;
    if (yd[0] != 0.2 * xd[0]) bad |= 8;
    if (fastact_forward(fastact_op_from_name("swish"), FASTACT_F64, xd.size(), xd.data(),
                        yd.data(), nullptr) != FASTACT_OK)
        bad |= 16;
    double want = 1.0 / (1.0 + std::exp(-xd[20])) * xd[20];
    if (std::fabs(yd[20] - want) > 1e-15 * std::fabs(want)) bad |= 32;
    if (fastact_forward(FASTACT_OP_MISH, FASTACT_F32, x.size(), x.data(), x.data() + 1, nullptr)
        != FASTACT_ERR_OVERLAP)
        bad |= 64;
    std::printf("fastact %s from C++: mish(1) = %.7g, status %s, bad = %d\n", fastact_version(),
                static_cast<double>(y[20]), fastact_status_string(FASTACT_ERR_OVERLAP), bad);
    return bad;
}
