using Xunit.Sdk;

namespace GpuCnn.Tests.Infrastructure;

/// <summary>Element-wise comparison with |actual − expected| ≤ atol + rtol·|expected|, reporting the worst element.</summary>
public static class Close
{
    public static void Assert(IReadOnlyList<double> expected, IReadOnlyList<float> actual, double atol, double rtol, string what)
    {
        if (expected.Count != actual.Count)
            throw new XunitException($"{what}: expected {expected.Count} values, got {actual.Count}");
        int worst = -1;
        double worstExcess = 0;
        int bad = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            double tol = atol + rtol * Math.Abs(expected[i]);
            if (!(err <= tol))
            {
                bad++;
                if (worst < 0 || err - tol > worstExcess || double.IsNaN(err)) { worst = i; worstExcess = err - tol; }
            }
        }
        if (bad > 0)
            throw new XunitException($"{what}: {bad} of {expected.Count} values out of tolerance (atol {atol}, rtol {rtol}); " +
                                     $"worst at [{worst}]: expected {expected[worst]:G9}, got {actual[worst]:G9}");
    }

    public static void Assert(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double atol, double rtol, string what) =>
        Assert(expected, actual.Select(v => (float)v).ToList(), atol, rtol, what);
}
