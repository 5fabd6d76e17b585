using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments;

namespace DiscreteGrad.Cli;

/// <summary>Option factories with range checks whose errors name the option and the allowed range.</summary>
internal static class OptionParsing
{
    /// <summary>An integer option that must lie in [min, max]; a malformed or out-of-range value is a parse error naming the option.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min, int max)
    {
        return new Option<int>(name)
        {
            Description = $"{description} [{min}..{max}]",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return defaultValue;
                var text = string.Join(" ", r.Tokens.Select(t => t.Value));
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
                {
                    r.AddError($"{name} must be an integer in [{min}, {max}] (got '{text}').");
                    return defaultValue;
                }
                return v;
            },
        };
    }

    /// <summary>A real option that must be finite and lie in (min, max] (or [min, max] when <paramref name="lowerOpen"/> is
    /// false); a malformed or out-of-range value is a parse error naming the option.</summary>
    public static Option<double> Real(string name, string description, double defaultValue, double min, double max, bool lowerOpen = true)
    {
        string range = $"{(lowerOpen ? "(" : "[")}{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]";
        return new Option<double>(name)
        {
            Description = $"{description} {range}",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return defaultValue;
                var text = string.Join(" ", r.Tokens.Select(t => t.Value));
                bool ok = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                    && double.IsFinite(v) && (lowerOpen ? v > min : v >= min) && v <= max;
                if (!ok)
                {
                    r.AddError($"{name} must be a finite number in {range} (got '{text}').");
                    return defaultValue;
                }
                return v;
            },
        };
    }

    /// <summary>A comma-separated list of estimator names (st, stgs, gst, grmck, reinmax, gs), without repeats; read it with
    /// <see cref="ParseEstimators"/>.</summary>
    public static Option<string> Estimators(string name, string defaultValue)
    {
        var o = new Option<string>(name)
        {
            Description = $"Comma-separated estimators, from: {string.Join(", ", EstimatorNames.Keys)}",
            DefaultValueFactory = _ => defaultValue,
        };
        o.Validators.Add(r =>
        {
            ParseEstimators(string.Join(",", r.Tokens.Select(t => t.Value)), name, out var error);
            if (r.Tokens.Count > 0 && error is not null) r.AddError(error);
        });
        return o;
    }

    /// <summary>A comma-separated list of distinct finite reals in (min, max]; read it with <see cref="ParseReals"/>.</summary>
    public static Option<string> Reals(string name, string description, string defaultValue, double min, double max)
    {
        var o = new Option<string>(name)
        {
            Description = $"{description} (comma-separated, each in ({min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}])",
            DefaultValueFactory = _ => defaultValue,
        };
        o.Validators.Add(r =>
        {
            ParseReals(string.Join(",", r.Tokens.Select(t => t.Value)), name, min, max, out var error);
            if (r.Tokens.Count > 0 && error is not null) r.AddError(error);
        });
        return o;
    }

    /// <summary>Parses "st,reinmax"; null and an error naming the option when a name is unknown, repeated or the list is empty.</summary>
    public static EstimatorKind[]? ParseEstimators(string text, string optionName, out string? error)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var list = new List<EstimatorKind>();
        foreach (var part in parts)
        {
            if (!EstimatorNames.TryParse(part, out var kind))
            {
                error = $"{optionName}: unknown estimator '{part}'; allowed: {string.Join(", ", EstimatorNames.Keys)}.";
                return null;
            }
            if (list.Contains(kind))
            {
                error = $"{optionName}: estimator '{part}' is listed twice.";
                return null;
            }
            list.Add(kind);
        }
        if (list.Count == 0)
        {
            error = $"{optionName} must list at least one estimator; allowed: {string.Join(", ", EstimatorNames.Keys)}.";
            return null;
        }
        error = null;
        return list.ToArray();
    }

    /// <summary>Parses "1.5,2,3" (invariant culture); null and an error naming the option when a value is invalid.</summary>
    public static double[]? ParseReals(string text, string optionName, double min, double max, out string? error, bool minInclusive = false)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var list = new List<double>();
        foreach (var part in parts)
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v)
                || !(minInclusive ? v >= min : v > min) || v > max)
            {
                error = $"{optionName}: '{part}' is not a finite number in {(minInclusive ? "[" : "(")}{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}].";
                return null;
            }
            if (list.Contains(v))
            {
                error = $"{optionName}: {part} is listed twice.";
                return null;
            }
            list.Add(v);
        }
        if (list.Count == 0)
        {
            error = $"{optionName} must list at least one value.";
            return null;
        }
        error = null;
        return list.ToArray();
    }
}
