using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Tests.Runner;

internal enum Colour { Red, Green, Blue }

/// <summary>Words of <see cref="Colour"/>: "r" is an alias of red; "all" stands for the three, "warm" for red alone.</summary>
internal sealed class ColourWords : SettingWords<Colour>
{
    protected override IReadOnlyList<(string Word, Colour Value, string[] Aliases)> Table { get; } = new[]
    {
        ("red", Colour.Red, new[] { "r" }), ("green", Colour.Green, Array.Empty<string>()), ("blue", Colour.Blue, Array.Empty<string>()),
    };

    protected override IReadOnlyList<(string Word, Colour[] Values)> Groups { get; } = new[]
    {
        ("all", new[] { Colour.Red, Colour.Green, Colour.Blue }), ("warm", new[] { Colour.Red }),
    };
}

internal sealed record PairConfig
{
    [Setting("colours", "Colours.", Axis = true, Values = typeof(ColourWords))]
    public Colour Colour { get; init; } = Colour.Green;

    [Setting("k", "An integer axis.", Axis = true, Min = 1, Max = 9)]
    public int K { get; init; } = 2;

    [Setting("palette", "A list setting with the same words.", Values = typeof(ColourWords))]
    public Colour[] Palette { get; init; } = { Colour.Blue };
}

/// <summary>Leaves out blue with an odd K.</summary>
internal sealed class PairExperiment : Experiment<PairConfig>
{
    public override string Name => "pairs";
    public override string Description => "Pairs.";
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = Array.Empty<SummaryMetric>();
    public override string Label(PairConfig c) => $"{c.Colour} {c.K}";
    protected override string? Excluded(PairConfig c) => c.Colour == Colour.Blue && c.K % 2 == 1 ? $"--k {c.K} with blue: K must be even" : null;
}

public sealed class GroupWordsAndExclusionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-words-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static object[] Values(string key, string text, string? config = null) =>
        GridSpec<PairConfig>.Bind(new Dictionary<string, string> { [key] = text }, config).Single(kv => kv.Key.Name == key).Value;

    [Fact]
    public void A_group_word_expands_in_place_on_axes_lists_and_config_files_and_repeats_are_refused()
    {
        Assert.Equal(new object[] { Colour.Red, Colour.Green, Colour.Blue }, Values("colours", "all"));
        Assert.Equal(new object[] { Colour.Blue, Colour.Red }, Values("colours", "blue,warm"));
        Assert.Equal(new object[] { Colour.Red, Colour.Green }, Values("colours", "R, GREEN"));
        Assert.Equal(new object[] { Colour.Red, Colour.Green, Colour.Blue, Colour.Red }, Values("palette", "all,r"));   // a list may repeat
        Assert.Equal("--colours: 'red' is listed twice (every grid cell must differ).",
            Assert.Throws<SettingException>(() => Values("colours", "all,r")).Message);
        Assert.Equal("--colours: unknown value 'pink'; allowed: all, warm, red, green, blue.",
            Assert.Throws<SettingException>(() => Values("colours", "pink")).Message);
        string path = Path.Combine(_dir, "c.json");
        File.WriteAllText(path, """{"colours": "all"}""");
        Assert.Equal(3, GridSpec<PairConfig>.Bind(new Dictionary<string, string>(), path).Single(kv => kv.Key.Name == "colours").Value.Length);
        var spec = GridSpec<PairConfig>.Settings.Single(s => s.Name == "colours");
        Assert.Equal("red", spec.Format(Colour.Red));
        Assert.StartsWith("Colours. {all, warm, red, green, blue}", spec.Help);
    }

    [Fact]
    public void Excluded_combinations_are_left_out_with_their_reasons_and_a_grid_of_none_is_refused()
    {
        var e = new PairExperiment();
        var given = new Dictionary<string, string> { ["colours"] = "all", ["k"] = "1,2,3" };
        var cells = e.Plan(given, null);
        Assert.Equal(new[] { "Red 1", "Red 2", "Red 3", "Green 1", "Green 2", "Green 3", "Blue 2" }, cells.Select(c => c.Label));
        Assert.Equal(Enumerable.Range(0, 7), cells.Select(c => c.Index));
        Assert.Equal(new[] { "--k 1 with blue: K must be even", "--k 3 with blue: K must be even" }, e.Exclusions(given, null));
        Assert.Empty(e.Exclusions(new Dictionary<string, string> { ["colours"] = "red" }, null));
        var none = new Dictionary<string, string> { ["colours"] = "blue", ["k"] = "3" };
        Assert.Equal("every cell of the grid is left out: --k 3 with blue: K must be even.",
            Assert.Throws<SettingException>(() => e.Plan(none, null)).Message);
    }
}
