using System.Globalization;
using System.Text;
using System.Text.Json;
using GpuCnn.Cli;
using SkiaSharp;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>--plot, --log-csv and --tensorboard after a one-epoch run, and the TensorBoard record format.</summary>
public class CurveTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "gpucnn-curves-" + Guid.NewGuid().ToString("N"));

    public CurveTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void One_epoch_writes_a_decodable_plot_a_csv_row_and_tensorboard_scalars_that_match_the_metrics()
    {
        string png = Path.Combine(dir, "curves.png"), csv = Path.Combine(dir, "log.csv"), tb = Path.Combine(dir, "tb"), m = Path.Combine(dir, "m.json");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = GpuCnn.Cli.CommandLine.Run(["train", "lenet5", "--device", "cpu", "--data", "synthetic", "--synthetic-count", "48", "--epochs", "1",
            "--batch-size", "16", "--steps", "3", "--seed", "2", "--plot", png, "--log-csv", csv, "--tensorboard", tb, "--metrics", m], o, e);
        Assert.True(code == 0, e.ToString());
        using var doc = JsonDocument.Parse(File.ReadAllText(m));
        double testAcc = doc.RootElement.GetProperty("test_accuracy").GetDouble(), trainLoss = doc.RootElement.GetProperty("train_loss").GetDouble();
        var losses = doc.RootElement.GetProperty("losses").EnumerateArray().Select(x => x.GetDouble()).ToList();

        using (var bmp = SKBitmap.Decode(png))
        {
            Assert.NotNull(bmp);
            Assert.Equal(CurvePlot.Width, bmp.Width);
            Assert.Equal(CurvePlot.Height, bmp.Height);
            // Not a blank canvas: the curves and labels put many distinct colours on it.
            Assert.True(bmp.Pixels.Distinct().Count() > 20);
        }

        var rows = File.ReadAllLines(csv);
        Assert.Equal(CsvLog.Header, rows[0]);
        Assert.Equal(3, rows.Count(r => r.StartsWith("step,", StringComparison.Ordinal)));
        var epoch = rows.Single(r => r.StartsWith("epoch,", StringComparison.Ordinal)).Split(',');
        Assert.Equal("1", epoch[1]);
        Assert.Equal("3", epoch[2]);
        Assert.Equal(trainLoss, double.Parse(epoch[3], CultureInfo.InvariantCulture), 12);
        Assert.Equal(testAcc, double.Parse(epoch[6], CultureInfo.InvariantCulture), 12);

        string events = Directory.GetFiles(tb).Single();
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(events));
        var (version, scalars) = TensorBoardReader.Read(events);
        Assert.Equal("brain.Event:2", version);
        Assert.Equal((float)testAcc, scalars.Single(s => s.Tag == "test/accuracy").Value);
        Assert.Equal(3, scalars.Single(s => s.Tag == "test/accuracy").Step);
        var stepLoss = scalars.Where(s => s.Tag == "train/step_loss").ToList();
        Assert.Equal([1L, 2L, 3L], stepLoss.Select(s => s.Step));
        Assert.Equal(losses.Select(l => (float)l), stepLoss.Select(s => s.Value));
        Assert.All(scalars, s => Assert.InRange(s.WallTime, 1.7e9, 4e9));
    }

    [Fact]
    public void Crc32c_matches_the_standard_check_value_and_a_flipped_byte_is_caught()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32C.Compute([]));
        string tb = Path.Combine(dir, "tb");
        string path;
        using (var w = new TensorBoardWriter(tb))
        {
            w.Scalars(7, [("a", 1.5f), ("b", -2.25f)]);
            path = w.Path;
        }
        var (_, scalars) = TensorBoardReader.Read(path);
        Assert.Equal([("a", 1.5f, 7L), ("b", -2.25f, 7L)], scalars.Select(s => (s.Tag, s.Value, s.Step)));
        // Record layout: u64 length, masked CRC32C of those 8 bytes, data, masked CRC32C of the data.
        var bytes = File.ReadAllBytes(path);
        ulong len = BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(Crc32C.Masked(bytes.AsSpan(0, 8)), BitConverter.ToUInt32(bytes, 8));
        Assert.Equal(Crc32C.Masked(bytes.AsSpan(12, (int)len)), BitConverter.ToUInt32(bytes, 12 + (int)len));
        bytes[^6] ^= 0x40; // inside the last record's data
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<GpuCnn.Data.DataFormatException>(() => TensorBoardReader.Read(path));
        Assert.Contains("data CRC mismatch", ex.Message);
        File.WriteAllBytes(path, bytes[..^3]);
        Assert.Throws<GpuCnn.Data.DataFormatException>(() => TensorBoardReader.Read(path));
    }
}
