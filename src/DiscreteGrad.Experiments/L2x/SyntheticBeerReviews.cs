namespace DiscreteGrad.Experiments.L2x;

/// <summary>The rated aspects of the synthetic reviews (the BeerAdvocate aspects of the L2X experiments).</summary>
public enum L2xAspect
{
    /// <summary>Appearance (colour, head, lacing).</summary>
    Appearance,
    /// <summary>Aroma (smell, nose).</summary>
    Aroma,
    /// <summary>Palate (mouthfeel, body, carbonation).</summary>
    Palate,
}

/// <summary>
/// The vocabulary of <see cref="SyntheticBeerReviews"/>: token 0 is the full stop that ends each sentence, then function
/// words, filler words (serving, buying: no sentiment), and for each of the four sentence kinds (appearance, aroma,
/// palate and the unrated distractor aspect taste) its nouns and its sentiment words, two synonyms per rating level
/// (level 0 the worst, <see cref="Levels"/> - 1 the best). Every sentiment word belongs to one kind and one level.
/// </summary>
public static class BeerReviewVocabulary
{
    /// <summary>Rating levels; a rating is level / (Levels - 1) in [0, 1].</summary>
    public const int Levels = 5;
    /// <summary>Sentence kinds with sentiment: the three aspects, then the distractor taste (kind 3).</summary>
    public const int Kinds = 4;
    /// <summary>The kind of the distractor sentences (taste: rated in the review, correlated, not a target).</summary>
    public const int TasteKind = 3;

    private static readonly string[] FunctionWords = { "the", "a", "it", "is", "this", "with", "and", "very", "quite", "has", "of", "bit", "rather", "really", "some", "was" };
    private static readonly string[] FillerWords = { "poured", "bottle", "glass", "bought", "store", "served", "pint", "friend", "tried", "night", "brewery", "label", "price", "cold", "shared", "six-pack", "tap", "bar", "dated", "cellar" };
    private static readonly string[][] Nouns =
    {
        new[] { "color", "head", "lacing", "look", "foam", "hue" },
        new[] { "aroma", "smell", "nose", "scent", "bouquet", "whiff" },
        new[] { "mouthfeel", "body", "carbonation", "texture", "feel", "finish" },
        new[] { "taste", "flavor", "sip", "aftertaste", "malt", "hops" },
    };
    private static readonly string[][][] Sentiment =
    {
        new[] { new[] { "murky", "muddy" }, new[] { "dull", "cloudy" }, new[] { "plain", "hazy" }, new[] { "clear", "golden" }, new[] { "brilliant", "gorgeous" } },
        new[] { new[] { "skunky", "rotten" }, new[] { "stale", "musty" }, new[] { "faint", "mild" }, new[] { "fragrant", "fruity" }, new[] { "intoxicating", "heavenly" } },
        new[] { new[] { "watery", "thin" }, new[] { "flat", "harsh" }, new[] { "medium", "light" }, new[] { "smooth", "creamy" }, new[] { "velvety", "luscious" } },
        new[] { new[] { "awful", "vile" }, new[] { "bland", "weak" }, new[] { "decent", "okay" }, new[] { "tasty", "rich" }, new[] { "superb", "outstanding" } },
    };

    /// <summary>Every word, by token id.</summary>
    public static IReadOnlyList<string> Words { get; }
    /// <summary>Token of the full stop.</summary>
    public const int FullStop = 0;
    /// <summary>Tokens of the function words.</summary>
    public static IReadOnlyList<int> Function { get; }
    /// <summary>Tokens of the filler words.</summary>
    public static IReadOnlyList<int> Filler { get; }

    private static readonly int[][] NounTokens;
    private static readonly int[][][] SentimentTokens;
    private static readonly (int Kind, int Level)[] SentimentOf;

    static BeerReviewVocabulary()
    {
        var words = new List<string> { "." };
        int[] Add(IEnumerable<string> ws) => ws.Select(w => { words.Add(w); return words.Count - 1; }).ToArray();
        Function = Add(FunctionWords);
        Filler = Add(FillerWords);
        NounTokens = Nouns.Select(Add).ToArray();
        SentimentTokens = Sentiment.Select(kind => kind.Select(Add).ToArray()).ToArray();
        Words = words;
        SentimentOf = Enumerable.Repeat((-1, -1), words.Count).ToArray();
        for (int c = 0; c < Kinds; c++)
            for (int l = 0; l < Levels; l++)
                foreach (int t in SentimentTokens[c][l]) SentimentOf[t] = (c, l);
    }

    /// <summary>Vocabulary size.</summary>
    public static int Size => Words.Count;
    /// <summary>Nouns of a sentence kind (0..3).</summary>
    public static IReadOnlyList<int> NounsOf(int kind) => NounTokens[kind];
    /// <summary>Sentiment words of a kind (0..3) and level (0..Levels-1).</summary>
    public static IReadOnlyList<int> SentimentWords(int kind, int level) => SentimentTokens[kind][level];
    /// <summary>The (kind, level) of a sentiment word, or (-1, -1) for any other token.</summary>
    public static (int Kind, int Level) SentimentOfToken(int token) => token >= 0 && token < SentimentOf.Length ? SentimentOf[token]
        : throw new ArgumentOutOfRangeException(nameof(token), token, $"token must be in [0, {SentimentOf.Length - 1}]."); 
}

/// <summary>Which split a generated set is; each split draws from its own stream of the data seed.</summary>
public enum L2xSplit
{
    /// <summary>Training reviews.</summary>
    Train,
    /// <summary>Test reviews.</summary>
    Test,
}

/// <summary>
/// A seeded generator of multi-aspect beer reviews, the stand-in for the BeerAdvocate aspect data (McAuley, Leskovec and
/// Jurafsky 2012, with the sentence-level rationale annotations of Lei, Barzilay and Jaakkola 2016), which is no longer
/// distributed. Each review has exactly <see cref="Length"/> tokens, made of sentences that each end with a full stop:
/// <list type="bullet">
/// <item>one sentence per aspect (appearance, aroma, palate) and one distractor sentence about taste: 2 or 3 clauses of
/// function words, the kind's nouns and 1 to 3 sentiment words of the kind's vocabulary at the kind's level l (all the
/// same level), 8 to 14 tokens with the full stop;</item>
/// <item>filler sentences (function and filler words, 4 to 9 tokens) until the review is full, the last one cut to fit;</item>
/// <item>the sentences in a random order.</item>
/// </list>
/// Ratings: level l_c of kind c is the shared level s with probability p = sqrt(rho), else an independent one, s and the
/// independent levels uniform on {0, ..., L - 1}; so every l_c is uniform, and for c != c', Cov(l_c, l_c') = p^2 Var(s),
/// the correlation is exactly rho (<see cref="Correlation"/> &gt;= 0). The rating of aspect c is l_c / (L - 1), a function
/// of the sentiment words of its sentence (each sentiment word names its kind and level). The ground-truth rationale of
/// an aspect is the positions of its sentence's tokens (full stop included), known exactly. Every draw comes from one
/// <see cref="Random"/> seeded by (data seed, split).
/// </summary>
public sealed class SyntheticBeerReviews
{
    /// <summary>Shortest aspect or distractor sentence (tokens, full stop included).</summary>
    public const int MinSentence = 8;
    /// <summary>Longest aspect or distractor sentence.</summary>
    public const int MaxSentence = 14;
    /// <summary>The shortest review length allowed: the four sentiment sentences at their longest and one filler token.</summary>
    public const int MinLength = BeerReviewVocabulary.Kinds * MaxSentence + 1;

    private readonly int[] _tokens;
    private readonly int[] _kinds;
    private readonly int[] _levels;

    private SyntheticBeerReviews(int count, int length, double correlation, int[] tokens, int[] kinds, int[] levels)
    {
        Count = count;
        Length = length;
        Correlation = correlation;
        _tokens = tokens;
        _kinds = kinds;
        _levels = levels;
    }

    /// <summary>Reviews.</summary>
    public int Count { get; }
    /// <summary>Tokens per review.</summary>
    public int Length { get; }
    /// <summary>Configured correlation rho of the levels of any two kinds.</summary>
    public double Correlation { get; }

    /// <summary>Token ids [Count * Length], review-major.</summary>
    public ReadOnlySpan<int> Tokens => _tokens;
    /// <summary>Token t of review i.</summary>
    public int Token(int i, int t) => _tokens[i * Length + t];
    /// <summary>The sentence kind of token t of review i: 0..2 an aspect, 3 the taste distractor, -1 filler.</summary>
    public int KindAt(int i, int t) => _kinds[i * Length + t];
    /// <summary>The level (0..L-1) of kind c (0..3) in review i.</summary>
    public int Level(int i, int kind) => _levels[i * BeerReviewVocabulary.Kinds + kind];
    /// <summary>The rating in [0, 1] of an aspect of review i: level / (L - 1).</summary>
    public double Rating(int i, L2xAspect aspect) => Level(i, (int)aspect) / (double)(BeerReviewVocabulary.Levels - 1);
    /// <summary>Whether token t of review i is in the ground-truth rationale of <paramref name="aspect"/> (its sentence).</summary>
    public bool InRationale(int i, int t, L2xAspect aspect) => KindAt(i, t) == (int)aspect;
    /// <summary>The words of review i.</summary>
    public IReadOnlyList<string> Words(int i) => Enumerable.Range(0, Length).Select(t => BeerReviewVocabulary.Words[Token(i, t)]).ToArray();

    /// <summary>Generates <paramref name="count"/> reviews.</summary>
    /// <param name="split">The split (its own random stream).</param>
    /// <param name="count">Reviews, &gt;= 1.</param>
    /// <param name="length">Tokens per review, &gt;= <see cref="MinLength"/>.</param>
    /// <param name="correlation">Correlation rho in [0, 1] of the levels of any two kinds.</param>
    /// <param name="seed">Data seed, &gt;= 0.</param>
    public static SyntheticBeerReviews Generate(L2xSplit split, int count, int length, double correlation, int seed)
    {
        Guard.AtLeast(count, 1, nameof(count));
        if (length < MinLength || length > 100_000)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"length must be in [{MinLength}, 100000] (got {length}).");
        if (!(correlation >= 0 && correlation <= 1))
            throw new ArgumentOutOfRangeException(nameof(correlation), correlation, $"correlation must be in [0, 1] (got {correlation}).");
        if (seed < 0) throw new ArgumentOutOfRangeException(nameof(seed), seed, $"seed must be >= 0 (got {seed}).");
        var rng = new Random(unchecked(seed * 7919 + 104_729 * ((int)split + 1)));
        const int kinds = BeerReviewVocabulary.Kinds, levels = BeerReviewVocabulary.Levels;
        double p = Math.Sqrt(correlation);
        var tokens = new int[count * length];
        var kindOf = new int[count * length];
        var levelOf = new int[count * kinds];
        var sentences = new List<(int Kind, List<int> Tokens)>();
        for (int i = 0; i < count; i++)
        {
            int shared = rng.Next(levels);
            for (int c = 0; c < kinds; c++) levelOf[i * kinds + c] = rng.NextDouble() < p ? shared : rng.Next(levels);
            sentences.Clear();
            int used = 0;
            for (int c = 0; c < kinds; c++)
            {
                var s = SentimentSentence(rng, c, levelOf[i * kinds + c]);
                sentences.Add((c, s));
                used += s.Count;
            }
            while (used < length)
            {
                var s = FillerSentence(rng, Math.Min(length - used, rng.Next(4, 10)));
                sentences.Add((-1, s));
                used += s.Count;
            }
            // Fisher-Yates shuffle of the sentence order.
            for (int j = sentences.Count - 1; j > 0; j--)
            {
                int r = rng.Next(j + 1);
                (sentences[j], sentences[r]) = (sentences[r], sentences[j]);
            }
            int t = i * length;
            foreach (var (kind, ws) in sentences)
                foreach (int w in ws) { tokens[t] = w; kindOf[t] = kind; t++; }
        }
        return new SyntheticBeerReviews(count, length, correlation, tokens, kindOf, levelOf);
    }

    /// <summary>
    /// 2 or 3 clauses, each [function word] (noun | sentiment word) [function word] (noun | sentiment word), at least one
    /// sentiment word in all (1 to 3), then the full stop; resampled until its length is in [MinSentence, MaxSentence].
    /// </summary>
    private static List<int> SentimentSentence(Random rng, int kind, int level)
    {
        var nouns = BeerReviewVocabulary.NounsOf(kind);
        var sentiment = BeerReviewVocabulary.SentimentWords(kind, level);
        var function = BeerReviewVocabulary.Function;
        while (true)
        {
            var s = new List<int>();
            int clauses = rng.Next(2, 4), sentimentWords = rng.Next(1, 4), placed = 0;
            for (int c = 0; c < clauses; c++)
            {
                s.Add(function[rng.Next(function.Count)]);
                s.Add(nouns[rng.Next(nouns.Count)]);
                if (rng.Next(2) == 0) s.Add(function[rng.Next(function.Count)]);
                // The sentiment words go to the clauses in turn; the last clause takes what is left.
                int here = c == clauses - 1 ? sentimentWords - placed : Math.Min(sentimentWords - placed, rng.Next(2));
                for (int w = 0; w < here; w++) s.Add(sentiment[rng.Next(sentiment.Count)]);
                placed += here;
            }
            s.Add(BeerReviewVocabulary.FullStop);
            if (s.Count >= MinSentence && s.Count <= MaxSentence) return s;
        }
    }

    /// <summary>A filler sentence of exactly <paramref name="length"/> tokens (&gt;= 1): function and filler words, then the full stop.</summary>
    private static List<int> FillerSentence(Random rng, int length)
    {
        var s = new List<int>(length);
        for (int w = 0; w < length - 1; w++)
            s.Add(rng.Next(2) == 0 ? BeerReviewVocabulary.Function[rng.Next(BeerReviewVocabulary.Function.Count)]
                : BeerReviewVocabulary.Filler[rng.Next(BeerReviewVocabulary.Filler.Count)]);
        s.Add(BeerReviewVocabulary.FullStop);
        return s;
    }
}
