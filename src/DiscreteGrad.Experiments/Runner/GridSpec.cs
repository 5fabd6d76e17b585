using System.Reflection;
using System.Text.Json;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>A configuration record that checks its own cross-setting constraints (ranges of single settings are
/// declared with <see cref="SettingAttribute"/>).</summary>
public interface IValidatedConfig
{
    /// <summary>Throws <see cref="ArgumentException"/> whose ParamName is the property or option at fault.</summary>
    void Validate();
}

/// <summary>One cell of a grid: its index, folder name, label and the canonical text of every setting.</summary>
/// <param name="Index">Position in the grid (0-based; the Slurm array index).</param>
/// <param name="Key">Folder name under <c>cells/</c>, made of the axis values (stable when other axes are added).</param>
/// <param name="Label">Human-readable label (the experiment's, with the seed).</param>
/// <param name="Group">Label of the row the cell belongs to in the report (the axes other than the seed).</param>
/// <param name="Settings">Every setting (option name -> canonical text).</param>
public sealed record GridCell(int Index, string Key, string Label, string Group, Dictionary<string, string> Settings);

/// <summary>
/// The settings of a configuration record <typeparamref name="TConfig"/> (its <see cref="SettingAttribute"/> properties),
/// bound from command-line text and <c>--config</c> JSON with one parser, and the grid they span: every combination of
/// the axes' values, in declaration order (the last axis varies fastest).
/// </summary>
public static class GridSpec<TConfig> where TConfig : class, new()
{
    /// <summary>The settings, in declaration order.</summary>
    public static IReadOnlyList<SettingSpec> Settings { get; } = typeof(TConfig)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => (p, a: p.GetCustomAttribute<SettingAttribute>()))
        .Where(x => x.a is not null)
        .OrderBy(x => x.p.MetadataToken)
        .Select(x => new SettingSpec(x.p, x.a!))
        .ToArray();

    /// <summary>
    /// Binds the settings: the record's defaults (an axis's <see cref="SettingAttribute.AxisDefault"/> values where it has them), then the <c>--config</c> JSON (keys are option names or property
    /// names, case-insensitive; an unknown key is an error), then the command-line values in <paramref name="given"/>
    /// (option name without dashes -> text). Returns the values of every setting (one for a scalar, several for an axis).
    /// </summary>
    public static Dictionary<SettingSpec, object[]> Bind(IReadOnlyDictionary<string, string> given, string? configPath)
    {
        ArgumentNullException.ThrowIfNull(given);
        var defaults = new TConfig();
        var values = Settings.ToDictionary(s => s, s =>
        {
            if (s.Attribute.AxisDefault is { } axisDefault) return s.ParseList(axisDefault);
            var v = s.Get(defaults) ?? throw new InvalidOperationException($"{typeof(TConfig).Name}.{s.Property.Name} has no default.");
            return s.IsArray ? ((Array)v).Cast<object>().ToArray() : new[] { v };
        });
        if (configPath is not null)
        {
            foreach (var (spec, text) in ReadConfigFile(configPath))
                values[spec] = Wrap(spec, spec.ParseList(text), configPath);
        }
        foreach (var (name, text) in given)
        {
            var spec = Settings.FirstOrDefault(s => s.Name == name)
                ?? throw new ArgumentException($"unknown setting --{name}.", name);
            values[spec] = Wrap(spec, spec.ParseList(text), null);
        }
        return values;
    }

    /// <summary>Expands bound values into cells (every combination of the axes), each validated.</summary>
    /// <param name="values">From <see cref="Bind"/>.</param>
    /// <param name="label">The experiment's label of a cell (without the seed).</param>
    /// <param name="seedAxis">Option name of the seed axis (left out of the row label), or null.</param>
    /// <param name="exclude">Why a combination is left out of the grid (e.g. an estimator that needs an even K), or null
    /// to keep it; asked after the range checks, before <see cref="IValidatedConfig.Validate"/>.</param>
    /// <param name="excluded">Receives the reason of every combination left out, in grid order.</param>
    public static List<(TConfig Config, GridCell Cell)> Expand(Dictionary<SettingSpec, object[]> values, Func<TConfig, string> label, string? seedAxis,
        Func<TConfig, string?>? exclude = null, List<string>? excluded = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(label);
        var axes = Settings.Where(s => s.IsAxis).ToArray();
        var combos = new List<object[]> { Array.Empty<object>() };
        foreach (var a in axes)
            combos = combos.SelectMany(c => values[a].Select(v => c.Append(v).ToArray())).ToList();
        var cells = new List<(TConfig, GridCell)>();
        var defaults = new TConfig();
        foreach (var combo in combos)
        {
            var config = new TConfig();
            foreach (var s in Settings.Where(s => !s.IsAxis)) s.Set(config, s.IsArray ? values[s] : new[] { values[s][0] });
            for (int i = 0; i < axes.Length; i++) axes[i].Set(config, new[] { combo[i] });
            foreach (var s in Settings) s.Check(s.Get(config));
            if (exclude?.Invoke(config) is { } why)
            {
                excluded?.Add(why);
                continue;
            }
            Validate(config);
            var settings = Settings.ToDictionary(s => s.Name, s => s.Format(s.Get(config)));
            string key = string.Join("_", axes.Select((a, i) => (a, i))
                .Where(x => !(x.a.Attribute.KeyOmitsDefault && x.a.Format(combo[x.i]) == x.a.Format(x.a.Get(defaults)!)))
                .Select(x => $"{x.a.KeyName}-{Slug(x.a.Format(combo[x.i]))}"));
            string group = label(config);
            string seedText = seedAxis is null ? "" : settings.GetValueOrDefault(seedAxis, "");
            string full = seedAxis is null ? group : $"{group} seed {seedText}";
            if (key.Length == 0) key = "run";
            cells.Add((config, new GridCell(cells.Count, key, full, group, settings)));
        }
        return cells;
    }

    /// <summary>Rebuilds a cell's configuration from its canonical settings (as written in the grid file).</summary>
    public static TConfig FromSettings(IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var config = new TConfig();
        foreach (var s in Settings)
            if (settings.TryGetValue(s.Name, out var text))
                s.Set(config, s.IsArray ? (text.Length == 0 ? Array.Empty<object>() : s.ParseList(text)) : new[] { s.Parse(text) });
        Validate(config);
        return config;
    }

    /// <summary>The canonical settings of a configuration.</summary>
    public static Dictionary<string, string> ToSettings(TConfig config) => Settings.ToDictionary(s => s.Name, s => s.Format(s.Get(config)));

    /// <summary>Runs the record's own <see cref="IValidatedConfig.Validate"/>, naming the option when the property has one.</summary>
    public static void Validate(TConfig config)
    {
        if (config is not IValidatedConfig v) return;
        try
        {
            v.Validate();
        }
        catch (ArgumentException e) when (e is not SettingException)
        {
            var spec = Settings.FirstOrDefault(s => s.Property.Name == e.ParamName || s.Name == e.ParamName);
            string message = e.Message.Split(" (Parameter '")[0];
            if (e is ArgumentOutOfRangeException && message.Contains("Actual value was", StringComparison.Ordinal))
                message = message.Split(Environment.NewLine)[0];
            throw new SettingException(spec?.Option ?? e.ParamName ?? "config", spec is null ? message : $"{spec.Option}: {message}");
        }
    }

    private static object[] Wrap(SettingSpec spec, object[] parsed, string? file)
    {
        if (!spec.IsAxis && !spec.IsArray && parsed.Length != 1)
            throw new SettingException(spec.Option, $"{spec.Option} takes one value{(file is null ? "" : $" (in {file})")}.");
        return parsed;
    }

    private static IEnumerable<(SettingSpec, string)> ReadConfigFile(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingException("--config", $"--config: cannot read {path}: {e.Message}");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new SettingException("--config", $"--config: {path} is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SettingException("--config", $"--config: {path} must hold one JSON object of settings.");
            var result = new List<(SettingSpec, string)>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                var spec = Settings.FirstOrDefault(s => string.Equals(s.Name, p.Name, StringComparison.OrdinalIgnoreCase)
                                                        || string.Equals(s.Property.Name, p.Name, StringComparison.OrdinalIgnoreCase))
                    ?? throw new SettingException("--config", $"--config: {path} has an unknown key '{p.Name}'; allowed: {string.Join(", ", Settings.Select(s => s.Name))}.");
                string text = p.Value.ValueKind switch
                {
                    JsonValueKind.Array => string.Join(",", p.Value.EnumerateArray().Select(e => Scalar(e, spec, path))),
                    _ => Scalar(p.Value, spec, path),
                };
                if (p.Value.ValueKind == JsonValueKind.Array && p.Value.GetArrayLength() == 1 && spec.IsAxis && spec.Attribute.Count)
                    text = $"{text}..{text}";   // ["5"] is the seed 5, not a count of 5
                result.Add((spec, text));
            }
            return result;
        }
    }

    private static string Scalar(JsonElement e, SettingSpec spec, string path) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Number => e.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => throw new SettingException(spec.Option, $"--config: {path}: '{spec.Name}' must be a {(spec.IsAxis || spec.IsArray ? "value or a list of values" : "value")} (got {e.ValueKind}).")
    };

    private static string Slug(string s) =>
        new(s.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '-').ToArray());
}
