using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using DiscreteGrad.Tests.Cli;
using DiscreteGrad.Experiments.Warcraft;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>The <c>warcraft</c> declaration: binding, validation, a tiny grid run in-process with its pictures.</summary>
public sealed class WarcraftExperimentTests : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-warcraft-grid-").FullName;
    private static readonly WarcraftExperiment Warcraft = new();

    public void Dispose() => Directory.Delete(_dir, true);

    private static Dictionary<string, string> Given(params (string Key, string Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    private static string Error(params (string, string)[] given) => Assert.Throws<SettingException>(() => Warcraft.Plan(Given(given), null)).Message;

    [Fact]
    public void The_grid_is_methods_times_seeds_and_by_default_all_three_methods_with_the_record_defaults()
    {
        var cells = Warcraft.Plan(Given(("methods", "imle,aimle,direct"), ("seeds", "2"), ("size", "18")), null);
        Assert.Equal(new[] { "method-imle_seed-1", "method-imle_seed-2", "method-aimle_seed-1", "method-aimle_seed-2", "method-direct_seed-1", "method-direct_seed-2" },
            cells.Select(c => c.Key));
        Assert.Equal(new[] { "I-MLE 18x18", "AIMLE 18x18", "direct CNN 18x18" }, cells.Select(c => c.Group).Distinct());
        // Without --methods the grid compares all three, as the old command did; every other setting is the record's default.
        var defaults = Warcraft.Plan(Given(), null);
        Assert.Equal(new[] { "imle", "aimle", "direct" }, defaults.Select(c => c.Settings["methods"]));
        Assert.Equal(new WarcraftConfig(), GridSpec<WarcraftConfig>.FromSettings(defaults[0].Settings));
        Assert.Contains("[default: imle,aimle,direct]", Warcraft.Settings.Single(s => s.Name == "methods").Help);
        Assert.Contains(ExperimentCatalog.All, e => e.Name == "warcraft");
    }

    [Fact]
    public void A_bad_option_is_one_line_naming_it_and_its_range()
    {
        Assert.Equal("--size must be an integer in [2, 64] (got '1').", Error(("size", "1")));
        Assert.Equal("--lr must be a finite number in (0, 10] (got '-1').", Error(("lr", "-1")));
        Assert.Equal("--methods: unknown value 'blackbox'; allowed: imle, aimle, direct.", Error(("methods", "blackbox")));
        Assert.Equal("--methods: 'imle' is listed twice (every grid cell must differ).", Error(("methods", "imle,imle")));
        Assert.Equal("--patch-size: must be a multiple of 4 in [4, 64] (got 6).", Error(("patch-size", "6")));
    }

    [Fact]
    public void A_tiny_grid_trains_reports_the_table_and_shows_each_method_s_path()
    {
        string grid = Path.Combine(_dir, "g");
        var cells = Warcraft.Plan(Given(("methods", "imle,direct"), ("seeds", "2"), ("size", "4"), ("train-maps", "12"), ("val-maps", "6"),
            ("test-maps", "6"), ("epochs", "1"), ("batch", "6"), ("channels", "4"), ("depth", "0")), null);
        var (launch, outcomes) = GridRunner.Run(Warcraft, cells, new GridOptions(grid, "warcraft test"), new InProcessBackend(ExperimentCatalog.All));
        Assert.True(launch.Completed);
        Assert.All(outcomes, o => Assert.Equal("done", o.State));
        var (header, rows) = GridReport.Table(Warcraft, outcomes);
        Assert.Equal(new[] { "run", "seeds", "epochs", "test accuracy", "val accuracy", "best val accuracy", "test exact match", "test Hamming", "test regret", "s / epoch" }, header);
        Assert.Equal(new[] { "I-MLE 4x4", "direct CNN 4x4" }, rows.Select(r => r[0]));
        foreach (var row in rows)
        {
            var hamming = outcomes.Where(o => o.Cell.Group == row[0]).Select(o => o.FinalEval["test_hamming"]).ToList();
            Assert.Equal(("2", "1 +- 0"), (row[1], row[2]));
            Assert.Equal($"{Statistics.Mean(hamming).ToString("F2", Inv)} +- {Statistics.SampleStd(hamming).ToString("F2", Inv)}", row[7]);
        }
        // Every cell leaves its pictures; the report shows the map once and the first seed's path of each method.
        Assert.All(outcomes, o => Assert.True(File.Exists(Path.Combine(o.Directory, "paths.png")) && File.Exists(Path.Combine(o.Directory, "map.png"))));
        GridReport.Write(Warcraft, grid, Path.Combine(_dir, "docs", "warcraft.md"));
        string md = File.ReadAllText(Path.Combine(_dir, "docs", "warcraft.md"));
        Assert.Contains("![map](warcraft-map.png)", md);
        Assert.Contains("- I-MLE 4x4: ![imle](warcraft-paths-imle.png)", md);
        Assert.Contains("- direct CNN 4x4: ![direct](warcraft-paths-direct.png)", md);
        Assert.Equal(File.ReadAllBytes(Path.Combine(outcomes[0].Directory, "paths.png")), File.ReadAllBytes(Path.Combine(_dir, "docs", "warcraft-paths-imle.png")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(outcomes[2].Directory, "paths.png")), File.ReadAllBytes(Path.Combine(grid, "paths-direct.png")));
        Assert.True(File.Exists(Path.Combine(grid, "test-accuracy.png")));
    }

    [Fact]
    public void The_command_answers_a_bad_option_with_one_line_naming_it()
    {
        var (code, output) = CliProcess.Run(_dir, "warcraft", "--size", "1");
        Assert.Equal((2, "error: --size must be an integer in [2, 64] (got '1'). (see --help)"), (code, output.Trim()));
        (code, output) = CliProcess.Run(_dir, "warcraft", "--patch-size", "6", "--out", Path.Combine(_dir, "o"));
        Assert.Equal((2, "error: --patch-size: must be a multiple of 4 in [4, 64] (got 6)."), (code, output.Trim()));
    }
}
