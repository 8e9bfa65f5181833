using GpuCnn.Kernels;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>FastDiv, the multiply-and-shift division of the implicit-GEMM operands, against the exact integer division.</summary>
public class FastDivTests
{
    [Fact]
    public void Quotients_and_remainders_are_exact_over_the_whole_non_negative_int_range()
    {
        var rng = new Random(11);
        // Every divisor a convolution meets (taps, widths, planes, strides) and some near powers of two and int.MaxValue.
        var divisors = Enumerable.Range(1, 4096)
            .Concat(Enumerable.Range(1, 30).SelectMany(b => new[] { (1 << b) - 1, 1 << b, (1 << b) + 1 }))
            .Concat(new[] { 3025, 12100, 50176, 150528, 1 << 30, int.MaxValue - 1, int.MaxValue })
            .Where(d => d >= 1).Distinct().ToList();
        foreach (int d in divisors)
        {
            var f = FastDiv.For(d);
            // Small numerators, multiples of d and their neighbours, the top of the range, and random ones.
            var ns = Enumerable.Range(0, 64)
                .Concat(new[] { d - 1, d, d + 1, 2 * d - 1, 2 * d, int.MaxValue, int.MaxValue - 1, int.MaxValue - d })
                .Concat(Enumerable.Range(0, 64).Select(_ => rng.Next()))
                .Concat(Enumerable.Range(1, 8).Select(q => (int)Math.Min(int.MaxValue, (long)(int.MaxValue / d - q) * d + d - 1)))
                .Where(n => n >= 0);
            foreach (int n in ns)
            {
                int q = f.Div(n);
                Assert.True(q == n / d, $"{n} / {d}: got {q}, want {n / d}");
                Assert.Equal(n % d, f.Mod(n, q));
                Assert.Equal(q, f.DivRem(n, out int rem));
                Assert.Equal(n % d, rem);
            }
        }
    }

    [Fact]
    public void A_divisor_below_one_is_rejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FastDiv.For(0));
}
