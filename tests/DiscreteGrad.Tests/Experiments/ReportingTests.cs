using DiscreteGrad.Experiments.Reporting;
using Xunit;

namespace DiscreteGrad.Tests.Experiments;

[Collection(GlobalGenerator.Name)]
public class ReportingTests
{
    [Fact]
    public void CsvWriterQuotesAndRoundTripsDoubles()
    {
        var path = Path.Combine(Path.GetTempPath(), "dg-csv-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            using (var csv = new CsvWriter(path, new[] { "a", "b", "c" }))
            {
                csv.WriteRow(0.1, "x,y", "say \"hi\"");
                csv.WriteRow(1e-300, null, 3);
                Assert.Throws<ArgumentException>(() => csv.WriteRow(1, 2));
            }
            var lines = File.ReadAllLines(path);
            Assert.Equal(new[] { "a,b,c", "0.1,\"x,y\",\"say \"\"hi\"\"\"", "1E-300,,3" }, lines);
            Assert.Equal(0.1, double.Parse(lines[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MarkdownTableRendersAlignmentAndEscapesPipes()
    {
        var text = MarkdownTable.Render(new[] { "name", "value" }, new[] { new[] { "a|b", "1" }, new[] { "c", "2" } });
        Assert.Equal("| name | value |\n| :--- | ---: |\n| a\\|b | 1 |\n| c | 2 |\n", text);
        Assert.Throws<ArgumentException>(() => MarkdownTable.Render(new[] { "x" }, new[] { new[] { "1", "2" } }));
    }

    [Fact]
    public void StatisticsUseTheSampleStd()
    {
        Assert.Equal(2.0, Statistics.Mean(new[] { 1.0, 2.0, 3.0 }));
        Assert.Equal(1.0, Statistics.SampleStd(new[] { 1.0, 2.0, 3.0 }), 15);
        Assert.Equal(0.0, Statistics.SampleStd(new[] { 5.0 }));
        Assert.True(double.IsNaN(Statistics.Mean(Array.Empty<double>())));
    }

    [Fact]
    public void LinePlotWritesALogScalePngAndSkipsNonPositiveValues()
    {
        var path = Path.Combine(Path.GetTempPath(), "dg-plot-" + Guid.NewGuid().ToString("N") + ".png");
        try
        {
            var x = new double[] { 0, 1, 2, 3 };
            LinePlot.SavePng(path, new LinePlotLayout("t", "x", "y", LogY: true, Width: 300, Height: 200), new[]
            {
                new LineSeries("a", x, new[] { 1.0, 0.1, 0.01, 0.0 }, new[] { 0.5, 0.05, 0.005, -1 }, new[] { 2.0, 0.2, 0.02, 0.0 }),
                new LineSeries("b", x, new[] { 1.0, 0.5, 0.25, 0.125 }),
            });
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes.Take(4).ToArray());
            // PNG IHDR: width and height, big-endian, at bytes 16..23.
            Assert.Equal(300, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]);
            Assert.Equal(200, (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23]);
            Assert.Throws<ArgumentException>(() => LinePlot.SavePng(path, new LinePlotLayout("t", "x", "y"),
                new[] { new LineSeries("bad", x, new[] { 1.0 }) }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TailStartIsTheFractionOfTheFiniteXRangeOverAllSeries()
    {
        var a = new LineSeries("a", new[] { 2.0, 4, double.NaN }, new[] { 1.0, 1, 1 });
        var b = new LineSeries("b", new[] { 12.0, 22 }, new[] { 1.0, 1 });
        Assert.Equal(2 + 0.1 * 20, LinePlot.TailStart(new[] { a, b })!.Value, 12);
        Assert.Equal(2 + 0.5 * 20, LinePlot.TailStart(new[] { a, b }, 0.5)!.Value, 12);
        Assert.Null(LinePlot.TailStart(Array.Empty<LineSeries>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => LinePlot.TailStart(new[] { a }, 1.0));
    }

    [Fact]
    public void LinePlotFitTailSpansOnlyTheLast90PercentOfXAndStillAutoscalesX()
    {
        var x = Enumerable.Range(0, 161).Select(i => (double)i).ToArray();
        var y = x.Select(e => 100 + 140 * Math.Exp(-e / 5)).ToArray();      // 240 at epoch 0, ~100.6 at epoch 16 (the tail's start), ~100 at 160
        var path = Path.Combine(Path.GetTempPath(), "dg-plot-" + Guid.NewGuid().ToString("N") + ".png");
        try
        {
            using var plot = LinePlot.Create(new LinePlotLayout("t", "epoch", "y", FitTail: true), new[]
            {
                new LineSeries("a", x, y, y.Select(v => v - 0.2).ToArray(), y.Select(v => v + 0.2).ToArray()),
            });
            plot.SavePng(path, 400, 300);
            var limits = plot.Axes.GetLimits();
            double tailLo = y[160] - 0.2, tailHi = y[16] + 0.2, pad = 0.05 * (tailHi - tailLo);
            Assert.Equal(tailLo - pad, limits.Bottom, 9);
            Assert.Equal(tailHi + pad, limits.Top, 9);
            Assert.InRange(limits.Left, -20, 0);
            Assert.InRange(limits.Right, 160, 180);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(-1.55, -1.28)]     // within one decade: 2 and 5 (or every m) x 10^k get labels
    [InlineData(-3.2, -1.1)]       // several decades
    [InlineData(0.0, 0.0)]
    [InlineData(-1.86, -1.41)]     // 0.0138 .. 0.039: three labels at 1..9 x 10^k
    [InlineData(-1.47, -1.27)]     // 0.034 .. 0.054: two labels at 1..9 x 10^k, 21 at 0.1 steps unless thinned
    public void LogTicksCoverTheRangeWithAtLeastThreeLabels(double lo, double hi)
    {
        var ticks = LinePlot.LogTicks(lo, hi);
        var majors = ticks.Where(t => t.Major).ToArray();
        Assert.True(majors.Length >= 3, $"only {majors.Length} labelled ticks");
        Assert.True(majors.Length <= LinePlot.MaxLogLabels, $"{majors.Length} labelled ticks");
        Assert.All(ticks, t => Assert.InRange(t.Position, lo - 0.2, hi + 0.2));
        Assert.All(majors, t => Assert.InRange(
            Math.Pow(10, t.Position) / double.Parse(t.Label, System.Globalization.CultureInfo.InvariantCulture), 1 - 1e-9, 1 + 1e-9));
        Assert.Equal(ticks.Select(t => t.Position).OrderBy(x => x), ticks.Select(t => t.Position));
    }
}
