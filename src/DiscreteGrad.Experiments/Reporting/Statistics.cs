namespace DiscreteGrad.Experiments.Reporting;

/// <summary>Mean and sample standard deviation over seeds.</summary>
public static class Statistics
{
    /// <summary>Arithmetic mean; NaN for an empty sequence.</summary>
    public static double Mean(IReadOnlyList<double> xs)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Count == 0) return double.NaN;
        double s = 0;
        foreach (var x in xs) s += x;
        return s / xs.Count;
    }

    /// <summary>Sample standard deviation (divisor n - 1); 0 for a single value, NaN for none.</summary>
    public static double SampleStd(IReadOnlyList<double> xs)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Count == 0) return double.NaN;
        if (xs.Count == 1) return 0;
        double m = Mean(xs), s = 0;
        foreach (var x in xs) s += (x - m) * (x - m);
        return Math.Sqrt(s / (xs.Count - 1));
    }

    /// <summary>
    /// "mean +- spread" (a std or standard error over <paramref name="count"/> values) with <paramref name="format"/>; the
    /// mean alone when there are fewer than two values, where a spread of 0 would only be the absence of one.
    /// </summary>
    /// <param name="mean">The mean.</param>
    /// <param name="spread">Its spread (e.g. the sample std over seeds).</param>
    /// <param name="count">How many values the mean is over.</param>
    /// <param name="format">Formats one number.</param>
    /// <param name="separator">Between mean and spread.</param>
    public static string FormatMeanSpread(double mean, double spread, int count, Func<double, string> format, string separator = " +- ")
    {
        ArgumentNullException.ThrowIfNull(format);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return count < 2 ? format(mean) : format(mean) + separator + format(spread);
    }
}
