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
}
