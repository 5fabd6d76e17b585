using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using DiscreteGrad.Tests.Data;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>What the grid tests of the MNIST experiments share: a small synthetic MNIST folder, an in-process grid run, and
/// readers of a cell's CSV files.</summary>
internal sealed class GridTestKit : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly IdxTestData _idx = new();

    public void Dispose() => _idx.Dispose();

    public static Dictionary<string, string> Given(params (string Key, string Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    /// <summary>The one-line message of planning a grid with bad settings.</summary>
    public static string Error(IExperiment e, params (string, string)[] kv) => Assert.Throws<SettingException>(() => e.Plan(Given(kv), null)).Message;

    /// <summary>An MNIST-shaped folder (28 x 28, labels 0-9) of 200 training and 50 test images.</summary>
    public string SmallMnist()
    {
        static byte[] Labels(int n) => Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        foreach (var (name, bytes) in new[]
                 {
                     ("train-images-idx3-ubyte", IdxTestData.ImagesBytes(200, 28, 28)), ("train-labels-idx1-ubyte", IdxTestData.LabelsBytes(Labels(200))),
                     ("t10k-images-idx3-ubyte", IdxTestData.ImagesBytes(50, 28, 28)), ("t10k-labels-idx1-ubyte", IdxTestData.LabelsBytes(Labels(50))),
                 })
            _idx.Write(Path.Combine("mnist", name), bytes);
        return _idx.PathOf("mnist");
    }

    /// <summary>Runs the cells in this process (the catalog's experiments) and checks that every one finished.</summary>
    public static IReadOnlyList<CellOutcome> RunGrid(IExperiment e, IReadOnlyList<GridCell> cells, string grid)
    {
        var (launch, outcomes) = GridRunner.Run(e, cells, new GridOptions(grid, "test"), new InProcessBackend(ExperimentCatalog.All));
        Assert.True(launch.Completed);
        Assert.All(outcomes, o => Assert.True(o.State == "done", $"{o.Cell.Label}: {o.State} {o.Message}"));
        return outcomes;
    }

    /// <summary>A column of the last row of a cell's CSV file (eval.csv, train.csv).</summary>
    public static double Last(CellOutcome o, string file, string column)
    {
        var lines = File.ReadAllLines(Path.Combine(o.Directory, file));
        int i = Array.IndexOf(lines[0].Split(','), column);
        return double.Parse(lines[^1].Split(',')[i], Inv);
    }

    /// <summary>"m +- s" as the report writes it.</summary>
    public static string MeanStd(IEnumerable<double> xs, string format)
    {
        var l = xs.ToList();
        return $"{Statistics.Mean(l).ToString(format, Inv)} +- {Statistics.SampleStd(l).ToString(format, Inv)}";
    }
}
