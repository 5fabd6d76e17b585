using System.Diagnostics;

namespace DiscreteGrad.Bench;

/// <summary>
/// A small interleaved timing harness, complementary to BenchmarkDotNet: the machine is shared, so instead of timing one
/// variant for a while and then the next, every round times a batch of each variant in turn (the order rotates each round),
/// and the ratio to the softmax baseline is taken within each round. Medians over rounds are reported, so a burst of load
/// from another process hits all variants of a round alike and is voted out by the median.
/// </summary>
public static class Interleaved
{
    public sealed record Result(string Name, double MedianUs, double MinUs, double MedianRatio, double[] PerOpUs);

    /// <param name="items">Name and step of each variant; the first one is the baseline of the ratios.</param>
    /// <param name="rounds">Rounds (one batch of every variant per round).</param>
    /// <param name="batchMs">Target duration of one batch; the batch size is calibrated once per variant.</param>
    public static List<Result> Run(IReadOnlyList<(string Name, Action Step)> items, int rounds, double batchMs, int warmup = 3)
    {
        int n = items.Count;
        var batch = new int[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < warmup; j++) items[i].Step();
            var sw = Stopwatch.StartNew();
            int calls = 0;
            do { items[i].Step(); calls++; } while (sw.Elapsed.TotalMilliseconds < batchMs / 4 && calls < 1000);
            double per = sw.Elapsed.TotalMilliseconds / calls;
            batch[i] = Math.Max(1, (int)Math.Round(batchMs / per));
        }

        var times = new double[n][];
        for (int i = 0; i < n; i++) times[i] = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            for (int jj = 0; jj < n; jj++)
            {
                int i = (jj + r) % n;
                var sw = Stopwatch.StartNew();
                for (int c = 0; c < batch[i]; c++) items[i].Step();
                times[i][r] = sw.Elapsed.TotalMicroseconds / batch[i];
            }
        }

        var results = new List<Result>();
        for (int i = 0; i < n; i++)
        {
            var ratios = Enumerable.Range(0, rounds).Select(r => times[i][r] / times[0][r]).ToArray();
            results.Add(new Result(items[i].Name, Median(times[i]), times[i].Min(), Median(ratios), times[i]));
        }
        return results;
    }

    public static double Median(IEnumerable<double> xs)
    {
        var a = xs.OrderBy(x => x).ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]);
    }
}
