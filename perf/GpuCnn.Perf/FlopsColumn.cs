using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace GpuCnn.Perf;

/// <summary>GFLOP/s from a benchmark's declared FLOP count and its measured mean time.</summary>
public sealed class FlopsColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => "GFLOPs";
    /// <inheritdoc/>
    public string ColumnName => "GFLOP/s";
    /// <inheritdoc/>
    public bool AlwaysShow => true;
    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;
    /// <inheritdoc/>
    public int PriorityInCategory => 0;
    /// <inheritdoc/>
    public bool IsNumeric => true;
    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;
    /// <inheritdoc/>
    public string Legend => "Billions of floating-point operations per second (2 per multiply-add)";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null) return "-";
        if (!KernelBenchmarks.Flops.TryGetValue(benchmarkCase.Descriptor.WorkloadMethod.Name, out double flops)) return "-";
        double seconds = report.ResultStatistics.Mean * 1e-9;
        return (flops / seconds / 1e9).ToString("F2");
    }

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;
}
